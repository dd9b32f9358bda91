"""Throughput of ``claimcls predict --engine ray`` next to single-process ``claimcls predict``.

    python scripts/bench_ray.py --model models/default [--sentences 10000] [--shards 8]
                                [--precision fp32 auto] [--ray-cpus 2]

Builds about ``--sentences`` sentences of input from the bundled corpus (its documents
repeated with distinct ids, sentences counted with claimcls's own splitter), as ``--shards``
JSONL shards in a temporary folder. Then, for each precision, it runs

- ``claimcls predict --model M SHARD... --output single.jsonl`` (one process, torch's default
  threads: every core), and
- ``claimcls predict --engine ray --model M SHARD_DIR --output ray/`` on a fresh local Ray
  instance of ``--ray-cpus`` CPUs (started with ``ray.init(num_cpus=N)`` in the same process
  just before the command runs; with the defaults that is one actor of N-1 CPUs, one CPU
  being kept for Ray Data's reading),

each as its own Python process, and checks that Ray's shards, joined in order, hold what the
single process wrote: the same documents and attributions, scores within 1e-3 (batches of
other shapes sum floats in another order), and says whether the bytes are identical too.

Rates printed per run, in sentences per second:

- ``wall``: all sentences over the whole command's wall time (Python start-up, imports,
  model loading, Ray start-up and actor creation included);
- ``steady``: all sentences over (that wall time minus the wall time of the same command on a
  one-document input): the rate once everything is loaded.

Exit status 1 if an output differs beyond the score tolerance.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import claimcls
from claimcls.sentences import split_sentences

# One entry point for both engines, so that both pay the same Python start-up and imports.
# BENCH_RAY_CPUS set: start a local Ray instance of that many CPUs first; predict_shards uses it.
RUNNER = """
import os, sys, logging
if os.environ.get("BENCH_RAY_CPUS"):
    import ray
    ray.init(num_cpus=int(os.environ["BENCH_RAY_CPUS"]), log_to_driver=False, logging_level=logging.WARNING)
from claimcls.cli import main
sys.exit(main(sys.argv[1:]))
"""


def build_shards(folder: Path, sentences: int, shards: int) -> tuple[int, int]:
    """Write bundled documents, cycled with fresh ids, until ``sentences`` sentences, into
    ``shards`` JSONL shards of about equal size. Returns (documents, sentences) written."""
    source = claimcls.read_corpus("bundled")
    rows, total = [], 0
    while total < sentences:
        doc = source[len(rows) % len(source)]
        rows.append({"id": f"{doc.id}#{len(rows)}", "text": doc.text})
        total += len(split_sentences(doc.text))
    per = math.ceil(len(rows) / shards)
    folder.mkdir(parents=True)
    for k in range(shards):
        part = rows[k * per:(k + 1) * per]
        (folder / f"shard_{k:02d}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in part),
                                                     encoding="utf-8")
    return len(rows), total


def run(args: list[str], ray_cpus: int | None) -> float:
    """Wall seconds of one ``claimcls`` command in a fresh process; raises if it fails."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.pop("BENCH_RAY_CPUS", None)
    # Ray gives a worker process 60 s to start; on a saturated machine importing torch took
    # longer and the run failed ("Failed to startup worker after retrying 5 times")
    env.setdefault("RAY_worker_register_timeout_seconds", "600")
    if ray_cpus:
        env["BENCH_RAY_CPUS"] = str(ray_cpus)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUNNER, *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise SystemExit(f"claimcls {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall


def compare(single: Path, ray_dir: Path, shard_names: list[str]) -> tuple[bool, int, float]:
    """(bytes identical, documents that differ beyond the score tolerance, largest score gap)."""
    want_text = single.read_text(encoding="utf-8")
    got_text = "".join((ray_dir / f"{name}.jsonl").read_text(encoding="utf-8") for name in shard_names)
    want = [json.loads(x) for x in want_text.splitlines()]
    got = [json.loads(x) for x in got_text.splitlines()]
    if [d["id"] for d in got] != [d["id"] for d in want]:
        return False, max(len(got), len(want)), math.inf
    differ, gap = 0, 0.0
    for g, w in zip(got, want):
        gs = [a.pop("score") for a in g["attributions"]]
        ws = [a.pop("score") for a in w["attributions"]]
        here = max((abs(x - y) for x, y in zip(gs, ws)), default=0.0)
        gap = max(gap, here)
        differ += g != w or here > 1e-3
    return got_text == want_text, differ, gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="model folder (e.g. models/default)")
    parser.add_argument("--sentences", type=int, default=10_000)
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--precision", nargs="+", default=["fp32", "auto"])
    parser.add_argument("--ray-cpus", type=int, default=2, help="CPUs of the local Ray instance")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        tmp = Path(tmp)
        n_docs, n_sents = build_shards(tmp / "in", args.sentences, args.shards)
        names = sorted(p.stem for p in (tmp / "in").glob("*.jsonl"))
        shards = [str(tmp / "in" / f"{n}.jsonl") for n in names]
        build_shards(tmp / "one", 1, 1)  # one document: the fixed cost of a run
        print(f"input: {n_docs} documents, {n_sents} sentences, {len(names)} JSONL shards; model {args.model}; "
              f"{os.cpu_count()} CPUs here; local Ray of {args.ray_cpus} CPUs")
        common = ["--model", args.model, "--batch-size", str(args.batch_size), "--no-progress"]
        for precision in args.precision:
            p = ["--precision", precision]
            single, ray_dir = tmp / f"single_{precision}.jsonl", tmp / f"ray_{precision}"
            runs = {
                "single process": (["predict", *common, *p, *shards, "--output", str(single)],
                                   ["predict", *common, *p, str(tmp / "one" / "shard_00.jsonl"), "--output",
                                    str(tmp / f"one_{precision}.jsonl")], None),
                "--engine ray": (["predict", "--engine", "ray", *common, *p, str(tmp / "in"), "--output", str(ray_dir)],
                                 ["predict", "--engine", "ray", *common, *p, str(tmp / "one"), "--output",
                                  str(tmp / f"one_ray_{precision}")], args.ray_cpus),
            }
            for label, (full, one, cpus) in runs.items():
                fixed = run(one, cpus)
                wall = run(full, cpus)
                # a busy machine can make the one-document run the slower: then there is no figure
                steady = f"{n_sents / (wall - fixed):6.1f}" if wall > fixed else "   n/a"
                print(f"  {precision:>5} {label:<15} {wall:7.1f} s  wall {n_sents / wall:6.1f} sentences/s  "
                      f"steady {steady} sentences/s  (a one-document run: {fixed:.1f} s)", flush=True)
            same_bytes, differ, gap = compare(single, ray_dir, names)
            print(f"  {precision:>5} outputs: {'byte for byte identical' if same_bytes else 'not byte-identical'}; "
                  f"{differ} of {n_docs} documents differ beyond score 1e-3; largest score gap {gap:.2g}", flush=True)
            failed |= differ > 0
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
