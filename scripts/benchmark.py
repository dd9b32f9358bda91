"""Benchmark claimcls against the transformers pipeline a user would otherwise write.

    python scripts/benchmark.py --model models/default [--data ../shared/data/polnear --split dev] [--output bench.json]
    python scripts/benchmark.py --model M --device cuda --batch-size 64,128,256,512,1024 --backends claimcls-fp32,claimcls-default

On the same documents and the same trained weights it measures, each backend in its own
process (so peak memory is its own): claimcls fp32, bf16 and int8 (the encoder in ONNX
Runtime, exported once into the cache; CPU only), claimcls at its defaults
(precision="auto": the fastest of those that agrees with fp32, see claimcls/device.py), and ``pipeline("token-classification", aggregation_strategy="simple")`` at
its defaults and with ``batch_size=32``, fed the same sentences. The pipeline's model is
the fine-tuned encoder with the tagger folded into one 9-label head (O, B-/I- per role;
a plain token classifier has no case features and sees one sentence at a time).

Reported: sentences per second (the median of ``--repeats`` timed passes), peak RSS (and
peak GPU memory, ``torch.cuda.max_memory_allocated``, per batch size), and the share of
token labels on which each claimcls path agrees with claimcls fp32. ``--device`` puts every
backend on that device (``cuda`` without a GPU is an error, not a CPU run; on a GPU the
defaults run bf16 weights); ``--batch-size`` takes a list, each claimcls backend is timed at
every size (the pipeline at its own defaults and at 32). The int8 backend is CPU only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BACKENDS = ("claimcls-fp32", "claimcls-bf16", "claimcls-int8", "claimcls-default", "pipeline-default", "pipeline-bs32")


def load_texts(args) -> list[str]:
    import claimcls

    docs = claimcls.read_corpus(args.data, split=args.split, on_invalid="skip") if args.data != "bundled" else claimcls.read_corpus("bundled")
    texts = [d.text for d in docs]
    n_sent = sum(len(d.sentences) for d in docs)
    k = 1
    while n_sent * k < args.min_sentences:  # repeat the corpus to reach the size asked for
        k += 1
    return texts * k


def pipeline_model(model_dir: str, out_dir: Path) -> str:
    """A BertForTokenClassification with the fine-tuned encoder and the tagger folded into
    one head: logit(B-role) = tag(role, B) - tag(role, O), logit(O) = 0."""
    import torch
    from transformers import AutoModelForTokenClassification

    import claimcls
    from claimcls.schema import ROLES

    model = claimcls.load(model_dir, device="cpu", precision="fp32")  # the weights are copied as they are
    labels = ["O"] + [f"{p}-{r.upper()}" for r in ROLES for p in ("B", "I")]
    cfg = model.module.encoder.config.__class__.from_dict(model.module.encoder.config.to_dict())
    cfg.num_labels = len(labels)
    cfg.id2label = dict(enumerate(labels))
    cfg.label2id = {v: k for k, v in enumerate(labels)}
    tc = AutoModelForTokenClassification.from_config(cfg)
    base = getattr(tc, tc.base_model_prefix)
    missing = base.load_state_dict(model.module.encoder.state_dict(), strict=False)
    assert not missing.unexpected_keys, missing
    W = model.module.tagger.weight.view(len(ROLES), 3, -1)
    b = model.module.tagger.bias.view(len(ROLES), 3)
    with torch.no_grad():
        tc.classifier.weight.zero_()
        tc.classifier.bias.zero_()
        for r in range(len(ROLES)):
            for t in (1, 2):
                tc.classifier.weight[1 + 2 * r + (t - 1)] = W[r, t] - W[r, 0]
                tc.classifier.bias[1 + 2 * r + (t - 1)] = b[r, t] - b[r, 0]
    tc.save_pretrained(out_dir)
    model.tokenizer.save_pretrained(out_dir)
    return str(out_dir)


def _timed(run, repeats: int):
    """Wall-clock seconds of ``repeats`` calls of ``run`` and the last call's result."""
    seconds, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = run()
        seconds.append(time.perf_counter() - t0)
    return seconds, out


def worker(args) -> None:
    """Run one backend, print a JSON line with its timing (and save its token labels)."""
    import torch

    import claimcls

    texts = load_texts(args)
    sentences = [s.text for t in texts for s in claimcls.split_sentences(t)]
    result = {"backend": args.worker, "documents": len(texts), "sentences": len(sentences)}
    if args.worker.startswith("pipeline"):
        from transformers import pipeline

        kwargs = {} if args.worker == "pipeline-default" else {"batch_size": 32}
        pipe = pipeline("token-classification", model=args.pipeline_dir, aggregation_strategy="simple",
                        device=torch.device(args.device))
        pipe(sentences[:8], **kwargs)  # warm-up
        result["seconds_each"] = _timed(lambda: pipe(sentences, **kwargs), args.repeats)[0]
        result["device"] = str(pipe.device)
    else:
        precision = args.worker.removeprefix("claimcls-").replace("default", "auto")
        model = claimcls.load(args.model, device=args.device, precision=precision)
        result["precision"] = model.precision
        result["device"] = str(model.device)
        result["weights"] = sorted({f"{p.dtype}@{p.device}" for p in model.module.parameters()})
        cuda = model.device.type == "cuda"
        model.predict(texts[:4])  # warm-up
        result["by_batch_size"] = []
        for bs in _sizes(args.batch_size):
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            seconds, docs = _timed(lambda: model.predict(texts, batch_size=bs), args.repeats)
            row = {"batch_size": bs, "seconds_each": seconds, "sentences_per_second": len(sentences) / statistics.median(seconds),
                   "attributions": sum(len(d.attributions) for d in docs)}
            if cuda:
                row["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
            result["by_batch_size"].append(row)
            print(f"  {args.worker} batch {bs}: {row['sentences_per_second']:.1f} sentences/s", file=sys.stderr, flush=True)
        best = max(result["by_batch_size"], key=lambda r: r["sentences_per_second"])
        result.update({k: best[k] for k in ("batch_size", "seconds_each", "attributions")})
        labels = model.token_labels(texts[: args.agreement_docs])
        np.savez(Path(args.labels_dir) / f"{args.worker}.npz", *labels)
    result["seconds"] = statistics.median(result["seconds_each"])
    result["sentences_per_second"] = result["sentences"] / result["seconds"]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.cuda.is_available():
        result["gpu_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    print("RESULT " + json.dumps(result), flush=True)


def _sizes(text: str) -> list[int]:
    return [int(x) for x in str(text).split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="trained model folder")
    p.add_argument("--data", default="bundled", help="corpus whose texts are labelled (default: the bundled corpus)")
    p.add_argument("--split", default=None)
    p.add_argument("--min-sentences", type=int, default=2000, help="repeat the corpus until it has this many sentences")
    p.add_argument("--batch-size", default="32", help="claimcls windows per batch; a comma list times each (the best is reported)")
    p.add_argument("--device", default="auto", help="auto (cuda if there is one), cpu, cuda or cuda:N: where every backend runs")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed passes over the documents per backend; the median is reported (this shared 2-core machine varied by 10-20%% between runs)")
    p.add_argument("--agreement-docs", type=int, default=40, help="documents on which token labels are compared")
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--output", default=None, help="write the results as JSON here")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--pipeline-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--labels-dir", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        worker(args)
        return
    backends = args.backends.split(",")
    args.device = _check_device(args.device)
    if args.device != "cpu" and "claimcls-int8" in backends:
        backends.remove("claimcls-int8")  # ONNX Runtime runs claimcls's int8 encoder on the CPU only
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        pipe_dir = pipeline_model(args.model, tmp / "pipe") if any(b.startswith("pipeline") for b in backends) else ""
        results = []
        for b in backends:
            cmd = [sys.executable, __file__, "--model", args.model, "--data", args.data, "--min-sentences", str(args.min_sentences),
                   "--batch-size", str(args.batch_size), "--device", args.device, "--repeats", str(args.repeats), "--agreement-docs", str(args.agreement_docs), "--worker", b,
                   "--pipeline-dir", pipe_dir, "--labels-dir", str(tmp)]
            if args.split:
                cmd += ["--split", args.split]
            out = subprocess.run(cmd, capture_output=True, text=True)
            line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
            if out.returncode != 0 or not line:
                print(f"{b} failed:\n{out.stderr[-2000:]}", file=sys.stderr)
                continue
            results.append(json.loads(line[0][7:]))
            print(f"{b:<22} {results[-1]['sentences_per_second']:>8.1f} sentences/s", file=sys.stderr, flush=True)
        ref_path = tmp / "claimcls-fp32.npz"
        if ref_path.is_file():
            from claimcls.device import label_agreement

            ref = np.load(ref_path)
            for r in results:
                path = tmp / f"{r['backend']}.npz"
                if path.is_file():
                    got = np.load(path)
                    r["token_label_agreement_with_fp32"] = label_agreement([ref[k] for k in ref.files], [got[k] for k in ref.files])
    base = {r["backend"]: r["sentences_per_second"] for r in results}
    print(f"\n{'backend':<22}{'precision':>10}{'sent/s':>10}{'× pipe':>9}{'× pipe32':>10}{'peak MB':>10}{'agree':>9}")
    for r in results:
        sps = r["sentences_per_second"]
        x1 = sps / base["pipeline-default"] if "pipeline-default" in base else float("nan")
        x2 = sps / base["pipeline-bs32"] if "pipeline-bs32" in base else float("nan")
        agree = r.get("token_label_agreement_with_fp32")
        print(f"{r['backend']:<22}{r.get('precision', 'fp32'):>10}{sps:>10.1f}{x1:>9.2f}{x2:>10.2f}{r['peak_rss_mb']:>10.0f}"
              f"{(f'{100 * agree:.2f}%' if agree is not None else '-'):>9}")
    print(f"({results[0]['sentences'] if results else 0} sentences in {results[0]['documents'] if results else 0} documents, {args.device})")
    sized = [r for r in results if len(r.get("by_batch_size", [])) > 1 or args.device != "cpu"]
    if sized:
        print(f"\n{'backend':<22}{'batch':>7}{'sent/s':>10}{'GPU peak MB':>13}")
        for r in sized:
            for row in r["by_batch_size"]:
                print(f"{r['backend']:<22}{row['batch_size']:>7}{row['sentences_per_second']:>10.1f}{row.get('gpu_peak_mb', float('nan')):>13.0f}")
    if args.output:
        Path(args.output).write_text(json.dumps({"device": args.device, "results": results}, indent=2) + "\n")


def _check_device(device: str) -> str:
    """The device every backend gets; ``cuda`` without a GPU stops here, before any backend
    runs on the CPU instead."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {device}: no CUDA device is available on this machine; use --device cpu")
    return device


if __name__ == "__main__":
    main()
