"""Fit a model folder's score calibration on an annotated split, report it, and save it.

    python scripts/calibrate.py --model models/default --data bundled --split dev --in-place \
        --output-plot docs/reliability.png
    python scripts/calibrate.py --model M --data ../shared/data/polnear --split dev --holdout-share 0.5 \
        --output M_calibrated

Predicts the split with raw scores, fits :class:`claimcls.calibration.Calibrator` (isotonic:
raw score -> probability that the attribution matches a gold one whole), and prints the
expected calibration error (10 bins) before and after, and whole-attribution precision /
recall / F1 at ``--min-score`` 0, 0.5, 0.7 and 0.9, on the fitting documents and on held-out
ones (``--holdout-share``: a share of the split's documents, chosen by a hash of their id,
kept out of the fit; ``--heldout-data``: another corpus). ``--in-place`` writes
``calibration.json`` into the folder (atomically) and rewrites its model card; ``--output
DIR`` writes a copy of the folder with it; neither: report only. ``--predictions FILE``
caches the raw predictions (JSONL documents), reused when the file exists.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from claimcls.calibration import (
    expected_calibration_error,
    filter_min_score,
    fit_calibrator,
    outcomes,
    reliability,
    write_calibration,
)
from claimcls.corpus import read_corpus
from claimcls.errors import ClaimclsError, InputError
from claimcls.evaluation import score
from claimcls.folder_checks import check_model_folder
from claimcls.schema import Document

THRESHOLDS = (0.0, 0.5, 0.7, 0.9)


def raw_predictions(model_dir: str, docs: list[Document], cache: str | None, model=None):
    """Predictions with raw scores, read from ``cache`` when it exists, else computed (and
    written to ``cache`` when given)."""
    if cache and Path(cache).is_file():
        by_id = {}
        for line in Path(cache).read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = Document.from_dict(json.loads(line))
                by_id[d.id] = d
        missing = [d.id for d in docs if d.id not in by_id]
        if missing:
            raise InputError(f"--predictions {cache}: no prediction for document {missing[0]!r} ({len(missing)} missing); "
                             "delete the file to predict again")
        return [by_id[d.id] for d in docs], model
    if model is None:
        from claimcls.inference import load

        model = load(model_dir)
    model.calibration = None
    pred = model.predict([d.text for d in docs])
    pred = [Document(g.id, p.text, p.sentences, p.attributions) for g, p in zip(docs, pred)]
    if cache:
        Path(cache).write_text("".join(json.dumps(p.to_dict()) + "\n" for p in pred), encoding="utf-8")
    return pred, model


def in_holdout(doc_id: str, share: float) -> bool:
    """Whether a document is held out: a stable hash of its id, not its position (salted:
    the bundled corpus's splits are drawn from the plain hash, so all of dev would fall on
    one side)."""
    return int(hashlib.sha256(f"calibrate:{doc_id}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


def calibrated(pred: list[Document], cal) -> list[Document]:
    from dataclasses import replace

    return [replace(p, attributions=tuple(replace(a, score=cal(a.score)) for a in p.attributions)) for p in pred]


def measure(name: str, gold: list[Document], raw: list[Document], cal) -> dict:
    """ECE before/after and precision/recall/F1 at each threshold of calibrated scores."""
    scores, right = outcomes(gold, raw)
    probs = cal.apply(scores)
    cal_pred = calibrated(raw, cal)
    at = {}
    for t in THRESHOLDS:
        a = score(gold, [filter_min_score(p, t)[0] for p in cal_pred])["attribution"]
        at[str(t)] = {k: a[k] for k in ("precision", "recall", "f1", "pred", "gold")}
    return {"name": name, "documents": len(gold), "attributions": len(scores), "right": int(right.sum()),
            "ece_raw": round(expected_calibration_error(scores, right), 4),
            "ece_calibrated": round(expected_calibration_error(probs, right), 4),
            "reliability_raw": reliability(scores, right), "reliability_calibrated": reliability(probs, right),
            "min_score": at}


def show(m: dict) -> str:
    lines = [f"{m['name']}: {m['documents']} documents, {m['attributions']} predicted attributions, {m['right']} right; "
             f"ECE (10 bins) raw {m['ece_raw']:.4f} -> calibrated {m['ece_calibrated']:.4f}",
             f"  {'--min-score':>11} {'P':>7} {'R':>7} {'F1':>7} {'pred':>6} {'gold':>6}"]
    for t, a in m["min_score"].items():
        lines.append(f"  {t:>11} {a['precision']:>7.2f} {a['recall']:>7.2f} {a['f1']:>7.2f} {a['pred']:>6} {a['gold']:>6}")
    return "\n".join(lines)


def plot(results: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(len(results), 2)
    rows = (len(results) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 4.6 * rows), squeeze=False)
    for ax in axes.flat[len(results):]:
        ax.axis("off")
    for ax, m in zip(axes.flat, results):
        ax.plot([0, 1], [0, 1], color="0.6", lw=1, ls="--", label="perfect")
        for key, colour, label in (("reliability_raw", "tab:red", "raw"), ("reliability_calibrated", "tab:blue", "calibrated")):
            pts = m[key]
            ece = m["ece_raw" if key.endswith("raw") else "ece_calibrated"]
            ax.plot([p["confidence"] for p in pts], [p["accuracy"] for p in pts], "o-", color=colour,
                    label=f"{label} (ECE {ece:.3f})", ms=4)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="score (mean in bin)", ylabel="share right (whole attribution)")
        ax.set_title(f"{m['name']}, {m['attributions']} attributions", fontsize=9)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def short(data: str) -> str:
    """A corpus's name for titles: ``bundled``, or the folder or file name."""
    return Path(data).name or str(data)


def plot_reports(reports: list[str], path: str) -> None:
    """One figure of the held-out panels of several ``--report`` files (for docs/)."""
    panels = []
    for r in reports:
        data = json.loads(Path(r).read_text(encoding="utf-8"))
        for m in data["results"][1:] or data["results"]:
            fit = data.get("calibration", {}).get("fitted_on", {})
            half = " (a part)" if fit.get("holdout_share") else ""
            panels.append({**m, "name": f"model {data.get('model', '?')}, fitted on {short(str(fit.get('data', '?')))} "
                                        f"{fit.get('split', '')}{half}\n{m['name']}"})
    plot(panels, path, "Reliability of attribution scores on documents the calibration was not fitted on")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plot-reports", nargs="+", metavar="REPORT",
                    help="only plot the held-out results of earlier --report files into --output-plot")
    ap.add_argument("--model", help="model folder")
    ap.add_argument("--data", help="annotated corpus to fit on: JSONL, brat folder, or 'bundled'")
    ap.add_argument("--split", default="dev", help="its split (default dev)")
    ap.add_argument("--holdout-share", type=float, default=0.0, help="share of the documents kept out of the fit and measured")
    ap.add_argument("--heldout-data", help="another annotated corpus to measure the fitted calibration on")
    ap.add_argument("--heldout-split", help="its split")
    ap.add_argument("--predictions", help="cache of the raw predictions on --data (JSONL; reused when it exists)")
    ap.add_argument("--heldout-predictions", help="the same for --heldout-data")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--in-place", action="store_true", help="write calibration.json into --model")
    where.add_argument("--output", help="write a copy of --model with calibration.json here")
    ap.add_argument("--output-plot", help="write a reliability diagram (PNG) here")
    ap.add_argument("--report", help="write the measurements as JSON here")
    args = ap.parse_args(argv)
    if args.plot_reports:
        if not args.output_plot:
            ap.error("--plot-reports needs --output-plot")
        plot_reports(args.plot_reports, args.output_plot)
        return 0
    if not (args.model and args.data):
        ap.error("--model and --data are required")
    try:
        if not 0 <= args.holdout_share < 1:
            raise InputError(f"--holdout-share must be in [0, 1), got {args.holdout_share}")
        if args.output and Path(args.output).exists():
            raise InputError(f"--output {args.output} exists; choose a new folder or use --in-place")
        check_model_folder(args.model, weights=False)
        docs = read_corpus(args.data, split=args.split, on_invalid="skip")
        raw, model = raw_predictions(args.model, docs, args.predictions)
        fit_idx = [i for i, d in enumerate(docs) if not in_holdout(d.id, args.holdout_share)]
        out_idx = [i for i, d in enumerate(docs) if in_holdout(d.id, args.holdout_share)]
        fit_gold, fit_raw = [docs[i] for i in fit_idx], [raw[i] for i in fit_idx]
        what = f"{short(args.data)} {args.split}" + (f" ({len(fit_idx)} of {len(docs)} documents)" if out_idx else "")
        cal = fit_calibrator(*outcomes(fit_gold, fit_raw), data=short(args.data), split=args.split,
                             documents=len(fit_idx), holdout_share=args.holdout_share)
        results = [measure(f"fit: {what}", fit_gold, fit_raw, cal)]
        if out_idx:
            results.append(measure(f"held out: {short(args.data)} {args.split} ({len(out_idx)} other documents)",
                                   [docs[i] for i in out_idx], [raw[i] for i in out_idx], cal))
        if args.heldout_data:
            hdocs = read_corpus(args.heldout_data, split=args.heldout_split, on_invalid="skip")
            hraw, model = raw_predictions(args.model, hdocs, args.heldout_predictions, model)
            results.append(measure(f"held out: {short(args.heldout_data)} {args.heldout_split or ''}".strip(), hdocs, hraw, cal))
        for m in results:
            print(show(m))
        print(f"calibration: {len(cal.x)} knots; raw {cal.x[0]:.3f}..{cal.x[-1]:.3f} -> {cal.y[0]:.3f}..{cal.y[-1]:.3f}")
        target = Path(args.model) if args.in_place else Path(args.output) if args.output else None
        if target is not None:
            from claimcls.model_card import write_model_card

            if args.output:
                shutil.copytree(args.model, target, ignore=shutil.ignore_patterns("checkpoint"))
            write_calibration(target, cal)
            write_model_card(target)
            print(f"wrote {target / 'calibration.json'}")
        if args.output_plot:
            plot(results, args.output_plot, f"Reliability of attribution scores: {Path(args.model).name}")
            print(f"wrote {args.output_plot}")
        if args.report:
            Path(args.report).write_text(json.dumps({"model": Path(args.model).name, "calibration": cal.to_dict(),
                                                     "results": results}, indent=2) + "\n")
    except ClaimclsError as err:
        print(f"calibrate: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
