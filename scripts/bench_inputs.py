"""Cost of sentence splitting (and optionally of ``claimcls predict``) on hostile inputs.

Each case runs in its own process, so its peak resident memory is its own:

    python scripts/bench_inputs.py                       # every case, this checkout's splitter
    python scripts/bench_inputs.py --cases unpunct_100k unpunct_200k --splitter old.py
    python scripts/bench_inputs.py --predict MODEL_DIR   # also time `claimcls predict` per case

``--splitter FILE`` times another version of ``claimcls/sentences.py`` (for before/after
figures). Cases: text without punctuation, one very long sentence, many sentences on one
line, a 10 MB document, 50,000 tiny documents. Prints one line per case: characters, CPU
seconds, characters per second, peak RSS (MB) and the number of sentences.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("the minister said that officials would review the report on monday after talks with "
         "regional leaders and local councils about funding schools roads and hospitals").split()


def _words(n_chars: int, seed: int) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n_chars]


def _sentences(n_chars: int, seed: int) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n_chars:
        s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 25))).capitalize() + "."
        out.append(s)
        size += len(s) + 1
    return " ".join(out)[:n_chars]


def case_texts(name: str) -> list[str]:
    """The documents of a case."""
    if name.startswith("unpunct_"):  # one paragraph, no sentence end at all
        return [_words(int(name.split("_")[1].rstrip("k")) * 1000, 1)]
    if name == "long_sentence_1m":  # one sentence of a million characters, commas only
        return [_words(1_000_000, 2).replace(" and ", ", and ")]
    if name.startswith("sentences_one_line_"):  # short sentences on a single line
        n = int(name.rsplit("_", 1)[1].rstrip("k")) * 1000
        return [" ".join(f"He said {i}." for i in range(n))]
    if name == "document_10mb":  # news-like sentences in paragraphs of ~1,000 characters
        text = _sentences(10_000_000, 3)
        return ["\n".join(text[i : i + 1000] for i in range(0, len(text), 1000))]
    if name == "single_line_2mb":  # news-like sentences, 2 MB, no line break
        return [_sentences(2_000_000, 4)]
    if name == "docs_50k_tiny":
        return [f"Officials said {i} roads reopened." for i in range(50_000)]
    raise SystemExit(f"unknown case {name!r}")


CASES = ["unpunct_20k", "unpunct_100k", "unpunct_200k", "unpunct_2000k", "long_sentence_1m", "sentences_one_line_10k",
         "sentences_one_line_50k", "single_line_2mb", "document_10mb", "docs_50k_tiny"]


def _load_splitter(path: str | None):
    if path is None:
        from claimcls.sentences import split_sentences

        return split_sentences
    spec = importlib.util.spec_from_file_location("claimcls._bench_sentences", path, submodule_search_locations=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "claimcls"  # its relative import of .schema resolves to claimcls.schema
    spec.loader.exec_module(module)
    return module.split_sentences


def run_one(name: str, splitter: str | None) -> dict:
    split = _load_splitter(splitter)
    texts = case_texts(name)
    split("Warm up. Load pysbd.")
    t0 = time.process_time()
    n = sum(len(split(t)) for t in texts)
    cpu = time.process_time() - t0
    chars = sum(len(t) for t in texts)
    return {"case": name, "chars": chars, "cpu_s": round(cpu, 2), "chars_per_s": round(chars / max(cpu, 1e-9)),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "sentences": n}


def run_predict(name: str, model: str) -> dict:
    texts = case_texts(name)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for i, t in enumerate(texts):
                f.write(json.dumps({"id": str(i), "text": t}) + "\n")
        cmd = [sys.executable, "-m", "claimcls", "predict", "--model", model, str(src), "--output", str(Path(tmp) / "o.jsonl"),
               "--no-progress", "--device", "cpu", "--precision", "fp32"]
        t0 = time.time()
        res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True)
        wall = time.time() - t0
    rss = res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "?"
    return {"case": name, "predict_wall_s": round(wall, 1), "predict_peak_rss_mb": round(int(rss) / 1024) if rss.isdigit() else rss,
            "rc": res.returncode}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="*", default=CASES, help=f"cases to run (default: all): {', '.join(CASES)}")
    p.add_argument("--splitter", help="another sentences.py to time (e.g. the version before a change)")
    p.add_argument("--predict", metavar="MODEL", help="also time `claimcls predict --model MODEL` on each case")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.splitter)))
        return
    for name in args.cases:
        cmd = [sys.executable, __file__, "--one", name] + (["--splitter", args.splitter] if args.splitter else [])
        res = subprocess.run(cmd, capture_output=True, text=True)
        line = res.stdout.strip().splitlines()[-1] if res.returncode == 0 else json.dumps({"case": name, "error": res.stderr[-300:]})
        if args.predict and res.returncode == 0:
            line = json.dumps({**json.loads(line), **run_predict(name, args.predict)})
        print(line, flush=True)


if __name__ == "__main__":
    main()
