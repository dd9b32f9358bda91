"""Training and prediction speed of encoders on the same windows, to plan a same-wall-clock
comparison (issue 13: all-mpnet-base-v2 cut to 6 layers against MiniLM-L6).

    python scripts/encoder_speed.py --config configs/polnear-large.yaml \\
        --encoder default --encoder /path/to/all-mpnet-base-v2:6 [--windows 64] [--output speed.json]

For each ``NAME[:LAYERS]`` it builds a model as training does (``Trainer._prepare``: the
config's batch size, precision and attention dropout; the data are the bundled corpus's
first documents, the same for every encoder), takes the first ``--windows`` training
windows, runs one untimed warm-up step, then times one pass of optimiser steps over them.
(``--no-train``: no steps.) Then it predicts the documents those windows come from (at ``auto`` precision without the
agreement check: the heads are untrained) and reports sentences per second. The loss of
each step is printed: finite losses show that the encoder loads and trains.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch


def measure(config_path: str, spec: str, windows: int, train: bool = True) -> dict:
    from claimcls.batching import collate, special_ids
    from claimcls.config import load_config
    from claimcls.device import choose_precision
    from claimcls.inference import AttributionModel
    from claimcls.training import Trainer

    name, _, layers = spec.partition(":")
    overrides = {"model.encoder": name, "model.encoder_layers": layers or "null", "data.polnear": "false", "data.bundled": "true",
                 "data.bundled_dev_fraction": "0.1", "data.max_train_docs": "40", "data.max_dev_docs": "1",
                 "data.train_files": "", "data.dev_files": ""}
    config = load_config(config_path, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, tmp)
        trainer._prepare()
    examples = trainer.examples[:windows]
    if len(examples) < windows:
        raise SystemExit(f"only {len(examples)} windows in the first documents; ask for fewer --windows")
    pad, bs = special_ids(trainer.tokenizer)[2], config.train.batch_size
    batches = [collate(examples[k : k + bs], pad) for k in range(0, len(examples), bs)]
    losses, train_s = [], float("nan")
    if train:
        trainer.module.train()
        trainer._step(batches[0])  # warm-up: allocation, kernel choice
        t0 = time.perf_counter()
        for batch in batches:
            losses.append(trainer._step(batch)[0])
        train_s = time.perf_counter() - t0
    docs = {ex.window.doc_index for ex in examples}
    texts = [trainer.corpora.train[i][0].text for i in sorted(docs)]
    sentences = sum(len(trainer.corpora.train[i][0].sentences) for i in sorted(docs))
    model = AttributionModel(trainer.accelerator.unwrap_model(trainer.module), trainer.tokenizer, config, device="cpu")
    precision = model.set_precision(choose_precision("auto", model.device, torch_only=True))
    model.predict(texts[:2])  # warm-up
    t0 = time.perf_counter()
    model.predict(texts)
    predict_s = time.perf_counter() - t0
    enc = model.module.encoder
    return {
        "encoder": spec, "layers": enc.config.num_hidden_layers, "hidden": enc.config.hidden_size,
        "params_M": round(sum(p.numel() for p in enc.parameters()) / 1e6, 1),
        "train_precision": "fp32" if trainer.amp_dtype is None else str(trainer.amp_dtype).removeprefix("torch."),
        "windows": len(examples), "batch_size": bs, "steps": len(batches), "seconds_per_step": round(train_s / len(batches), 2),
        "losses": [round(x, 3) for x in losses], "predict_precision": precision, "predict_docs": len(texts),
        "predict_sentences": sentences, "predict_seconds": round(predict_s, 2), "sentences_per_s": round(sentences / predict_s, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="configs/polnear-large.yaml", help="batch size, precision and the like come from here")
    ap.add_argument("--encoder", action="append", required=True, help="NAME[:LAYERS], repeatable")
    ap.add_argument("--windows", type=int, default=64)
    ap.add_argument("--no-train", action="store_true", help="time prediction only")
    ap.add_argument("--output", type=Path)
    args = ap.parse_args()
    torch.manual_seed(0)
    rows = [measure(args.config, spec, args.windows, not args.no_train) for spec in args.encoder]
    for row in rows:
        print(json.dumps(row))
    if args.output:
        args.output.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
