"""Where prediction time goes: the per-stage split per sentence, beside the encoder-only rate.

    python scripts/profile_predict.py --model M [--data D --split dev] [--precision auto] [--device cpu] [--output prof.json]

The stages are timed by wrapping the functions ``AttributionModel.predict_stream`` really
calls (nothing is re-implemented): ``split_sentences`` (splitting), ``encode_document`` +
``inference_examples`` (tokenization and windows), ``collate``, ``AttributionModel._encode``
(encoder), ``heads.decode`` (span decoding, link scoring and decisions; the link and kind
heads' share is shown on its own line), ``inference._resolve_sources`` (source resolution)
and ``outputs.Writer.write`` (writing JSONL). Chunks are prepared and run one after the
other here (``_prepare`` then ``_run``), so stages do not overlap; "other" is what the
stages leave of that wall time (batch sorting, bookkeeping).

Then, on the same batches, the encoder alone (``_encode`` only: the ceiling), and the real
threaded ``predict_stream`` writing JSONL (end to end). Each figure is the median of
``--repeats`` passes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import load_texts  # noqa: E402  (the same documents as the benchmark)

STAGES = ("splitting", "tokenization+windows", "collate", "encoder", "decoding+link scoring",
          "  of which link/kind heads", "source resolution", "writing JSONL", "other")


class Timers:
    """Seconds per stage, added up by wrapped functions."""

    def __init__(self, sync):
        self.seconds: dict[str, float] = defaultdict(float)
        self.sync = sync  # waits for the GPU, so that its work is charged to the stage that queued it

    def wrap(self, stage: str, fn, sync: bool = False):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            if sync:
                self.sync()
            self.seconds[stage] += time.perf_counter() - t0
            return out

        return timed

    def wrap_generator(self, stage: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = list(fn(*args, **kwargs))
            self.seconds[stage] += time.perf_counter() - t0
            return iter(out)

        return timed


def instrument(model, timers: Timers):
    """Wrap the stages of ``model``'s prediction path; returns a function that undoes it."""
    from claimcls import heads, inference, outputs

    saved = [(inference, name, getattr(inference, name))
             for name in ("split_sentences", "encode_document", "inference_examples", "collate", "_resolve_sources")]
    saved += [(heads, "decode", heads.decode), (heads, "scorer", heads.scorer), (outputs.Writer, "write", outputs.Writer.write)]
    inference.split_sentences = timers.wrap("splitting", inference.split_sentences)
    inference.encode_document = timers.wrap("tokenization+windows", inference.encode_document)
    inference.inference_examples = timers.wrap("tokenization+windows", inference.inference_examples)
    inference.collate = timers.wrap("collate", inference.collate)
    inference._resolve_sources = timers.wrap("source resolution", inference._resolve_sources)
    heads.decode = timers.wrap_generator("decoding+link scoring", heads.decode)
    real_scorer = heads.scorer
    heads.scorer = lambda *a, **k: timers.wrap("  of which link/kind heads", real_scorer(*a, **k), sync=True)
    outputs.Writer.write = timers.wrap("writing JSONL", outputs.Writer.write)
    model._encode = timers.wrap("encoder", model._encode, sync=True)

    def undo():
        for owner, name, fn in saved:
            setattr(owner, name, fn)
        del model._encode

    return undo


def profile_pass(model, texts, batch_size: int, out_path: Path, sync) -> tuple[dict[str, float], list]:
    """One sequential pass with every stage timed; also returns the collated batches."""
    from claimcls.inference import CHUNK_CHARS, _chunked
    from claimcls.outputs import Writer

    timers = Timers(sync)
    undo = instrument(model, timers)
    batches = []
    try:
        writer = Writer("jsonl", str(out_path), False)
        t0 = time.perf_counter()
        for chunk in _chunked(texts, 256, CHUNK_CHARS):
            prepared = model._prepare(chunk, batch_size)
            batches += [tensors for _, tensors in prepared[2]]
            for doc in model._run(prepared):
                writer.write(doc)
        writer.finish()
        wall = time.perf_counter() - t0
    finally:
        undo()
    stages = dict(timers.seconds)
    stages["other"] = wall - sum(v for k, v in stages.items() if not k.startswith(" "))
    stages["total"] = wall
    return stages, batches


def encoder_pass(model, batches, sync) -> float:
    t0 = time.perf_counter()
    for tensors in batches:
        model._encode(tensors)
    sync()
    return time.perf_counter() - t0


def end_to_end_pass(model, texts, batch_size: int, out_path: Path) -> float:
    from claimcls.outputs import Writer

    t0 = time.perf_counter()
    writer = Writer("jsonl", str(out_path), False)
    for doc in model.predict_stream(texts, batch_size=batch_size):
        writer.write(doc)
    writer.finish()
    return time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="trained model folder")
    p.add_argument("--data", default="bundled", help="corpus whose texts are labelled (default: the bundled corpus)")
    p.add_argument("--split", default=None)
    p.add_argument("--min-sentences", type=int, default=0, help="repeat the corpus until it has this many sentences")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    p.add_argument("--precision", default="auto", help="auto, fp32, bf16, fp16 (GPU), int8 (CPU)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3, help="passes of each kind; medians are reported")
    p.add_argument("--output", default=None, help="write the results as JSON here")
    args = p.parse_args()

    import torch

    import claimcls

    model = claimcls.load(args.model, device=args.device, precision=args.precision)
    sync = torch.cuda.synchronize if model.device.type == "cuda" else (lambda: None)
    texts = load_texts(args)
    n_sent = sum(len(claimcls.split_sentences(t)) for t in texts)
    model.predict(texts[:4], batch_size=args.batch_size)  # warm-up
    passes, enc_s, e2e_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.jsonl"
        for _ in range(args.repeats):
            stages, batches = profile_pass(model, texts, args.batch_size, out, sync)
            passes.append(stages)
            enc_s.append(encoder_pass(model, batches, sync))
            e2e_s.append(end_to_end_pass(model, texts, args.batch_size, out))
    med = {k: statistics.median(p[k] for p in passes) for k in passes[0]}
    res = {
        "model": args.model, "data": args.data, "split": args.split, "device": str(model.device), "precision": model.precision,
        "batch_size": args.batch_size, "documents": len(texts), "sentences": n_sent, "repeats": args.repeats,
        "stage_ms_per_sentence": {k: 1000 * v / n_sent for k, v in med.items()},
        "stage_share": {k: v / med["total"] for k, v in med.items() if k != "total"},
        "sequential_sentences_per_second": n_sent / med["total"],
        "encoder_only_sentences_per_second": n_sent / statistics.median(enc_s),
        "end_to_end_sentences_per_second": n_sent / statistics.median(e2e_s),
    }
    res["end_to_end_vs_encoder_only"] = res["end_to_end_sentences_per_second"] / res["encoder_only_sentences_per_second"]
    print(f"{res['sentences']} sentences in {res['documents']} documents, {res['device']}, {res['precision']}, "
          f"batch {args.batch_size}, median of {args.repeats}")
    print(f"{'stage':<28}{'ms/sentence':>12}{'share':>8}")
    for k in (*STAGES, "total"):
        if k in med:
            share = f"{100 * res['stage_share'][k]:.1f}%" if k != "total" else ""
            print(f"{k:<28}{res['stage_ms_per_sentence'][k]:>12.3f}{share:>8}")
    for k in ("sequential_sentences_per_second", "encoder_only_sentences_per_second", "end_to_end_sentences_per_second"):
        print(f"{k.replace('_', ' '):<40}{res[k]:>8.1f}")
    print(f"end to end / encoder only: {100 * res['end_to_end_vs_encoder_only']:.1f}%")
    if args.output:
        Path(args.output).write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
