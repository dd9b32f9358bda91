"""Learning curve: PolNeAR dev F1 against the number of PolNeAR training attributions.

    python scripts/learning_curve.py --polnear ../shared/data/polnear --output runs/lc \\
        --fractions 0.1,0.25,0.5,1 --epochs 10,4,2,2 --max-minutes 15,15,15,22

Each fraction of PolNeAR train's documents (drawn at random with a fixed seed,
``data.polnear_fraction``) is trained with ``configs/polnear.yaml`` without the bundled corpus,
in a process of its own, and selected and scored on all of PolNeAR dev. Smaller fractions get
more epochs so that every run takes a few hundred optimiser steps; ``--max-minutes`` caps each
run (the learning-rate schedule is fitted to it). Runs already finished in ``--output`` are
reused. Writes ``curve.json``, ``curve.md`` and ``curve.png`` (matplotlib) in ``--output``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def run_fraction(fraction: float, epochs: int, minutes: float, args) -> dict:
    out = args.output / f"frac_{fraction:g}"
    if not (out / "metrics.json").is_file() or (out / "checkpoint").exists():
        cmd = [sys.executable, str(ROOT / "scripts" / "train.py"), "--config", str(ROOT / "configs" / "polnear.yaml"),
               "--output", str(out), "--data.polnear_dir", str(args.polnear), "--data.bundled", "false",
               "--data.polnear_fraction", str(fraction), "--train.epochs", str(epochs), "--train.max_minutes", str(minutes)]
        if (out / "checkpoint").exists():
            cmd.append("--resume")
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    metrics = json.loads((out / "metrics.json").read_text())
    training = json.loads((out / "training.json").read_text())
    dev = metrics["dev"]["polnear_dev"]
    return {
        "fraction": fraction,
        "epochs": epochs,
        "max_minutes": minutes,
        "steps": training.get("final_state", {}).get("global_step"),
        "minutes": round(training.get("final_state", {}).get("train_seconds", 0) / 60, 1),
        "selected_at": metrics.get("at"),
        "attribution_f1": dev["attribution"]["f1"],
        "cue_exact_f1": dev["cue"]["exact"]["f1"],
        "source_exact_f1": dev["source"]["exact"]["f1"],
        "content_exact_f1": dev["content"]["exact"]["f1"],
        "content_overlap_f1": dev["content"]["overlap"]["f1"],
    }


def count_attributions(polnear: Path, fraction: float) -> int:
    from claimcls.config import load_config
    from claimcls.training_data import load_corpora

    config = load_config(ROOT / "configs" / "polnear.yaml", {
        "data.polnear_dir": str(polnear), "data.bundled": "false", "data.polnear_fraction": str(fraction)})
    return sum(len(doc.attributions) for doc, _ in load_corpora(config).train)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    x = [r["train_attributions"] for r in rows]
    for key, label in (("attribution_f1", "whole attribution"), ("cue_exact_f1", "cue exact"),
                       ("content_overlap_f1", "content overlap")):
        ax.plot(x, [r[key] for r in rows], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xlabel("PolNeAR training attributions (log scale)")
    ax.set_ylabel("PolNeAR dev F1")
    ax.set_title("claimcls (MiniLM) learning curve on PolNeAR")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polnear", type=Path, required=True, help="PolNeAR folder")
    parser.add_argument("--output", type=Path, default=Path("runs/learning_curve"))
    parser.add_argument("--fractions", type=_floats, default=[0.1, 0.25, 0.5, 1.0])
    parser.add_argument("--epochs", type=lambda t: [int(x) for x in _floats(t)], default=[10, 4, 2, 2])
    parser.add_argument("--max-minutes", type=_floats, default=[15, 15, 15, 22])
    args = parser.parse_args(argv)
    if not len(args.fractions) == len(args.epochs) == len(args.max_minutes):
        parser.error("--fractions, --epochs and --max-minutes need one value each per run")
    args.output.mkdir(parents=True, exist_ok=True)
    rows = []
    for fraction, epochs, minutes in zip(args.fractions, args.epochs, args.max_minutes):
        row = run_fraction(fraction, epochs, minutes, args)
        row["train_attributions"] = count_attributions(args.polnear, fraction)
        rows.append(row)
        (args.output / "curve.json").write_text(json.dumps(rows, indent=2))
    lines = ["| share of PolNeAR train | training attributions | epochs | steps | minutes | whole attribution F1 | cue exact | source exact | content exact | content overlap |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['fraction']:.0%} | {r['train_attributions']:,} | {r['epochs']} | {r['steps']} | {r['minutes']} | "
              f"{r['attribution_f1']:.1f} | {r['cue_exact_f1']:.1f} | {r['source_exact_f1']:.1f} | "
              f"{r['content_exact_f1']:.1f} | {r['content_overlap_f1']:.1f} |" for r in rows]
    (args.output / "curve.md").write_text("\n".join(lines) + "\n")
    plot(rows, args.output / "curve.png")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
