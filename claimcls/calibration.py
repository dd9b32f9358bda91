"""Scores that mean something: an attribution's ``score`` as the probability that it is right.

Decoding gives each attribution a raw score (cue tag probability x content link
probability, ``heads.decode``). Raw, a 0.8 is not right 80% of the time. A
:class:`Calibrator` maps the raw score to the share of attributions with that score that
match a gold attribution whole (``evaluation.match_attributions``: cues overlap, contents'
character Jaccard >= 0.5, sources overlap or both absent), as measured on a dev set.

The map is isotonic regression (monotone: a higher raw score never gets a lower
probability; each step's share right smoothed as (right + 1) / (n + 2), so no score becomes
exactly 0 or 1), stored in the model folder as plain numbers in ``calibration.json``
(:data:`CALIBRATION_FILE`) and applied by ``inference.py`` after decoding. It is fitted
after training (``train.calibrate``) or for any folder by ``scripts/calibrate.py``.
A folder without the file keeps the raw score. The map was fitted under the folder's
``decode`` settings: change those and it no longer holds (refit it).

(Not to be confused with ``inference.calibration_texts``, the text that checks reduced
precisions against fp32.)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_atomic
from .errors import InputError, ModelFolderError
from .evaluation import match_attributions
from .schema import Document

CALIBRATION_FILE = "calibration.json"
FORMAT = 1
MIN_FIT = 20  # fewer predicted attributions than this on dev: no calibrator (it would be noise)


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw score to probability of a whole-attribution match.

    ``x`` (raw scores, increasing) and ``y`` (probabilities, non-decreasing) are the knots of
    a piecewise-linear function, flat beyond its ends. ``fitted_on`` records where it was
    fitted and the expected calibration error there, before and after.
    """

    x: tuple[float, ...]
    y: tuple[float, ...]
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __call__(self, score: float) -> float:
        return round(float(np.interp(score, self.x, self.y)), 4)

    def apply(self, scores: Sequence[float]) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=float), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "method": "isotonic",
                "input": "raw score: cue tag probability x content link probability (heads.decode)",
                "output": "probability that the attribution matches a gold one whole (evaluation.match_attributions)",
                "x": list(self.x), "y": list(self.y), "fitted_on": self.fitted_on}

    @classmethod
    def from_dict(cls, data: Any, where: str = CALIBRATION_FILE) -> Calibrator:
        """Read :meth:`to_dict`'s shape back, checking it.

        Raises:
            ModelFolderError: naming ``where`` and what is wrong with it.
        """
        fix = "refit it with scripts/calibrate.py or delete it (scores are then the raw ones)"
        if not isinstance(data, dict) or data.get("method") != "isotonic" or data.get("format") != FORMAT:
            got = f"method {data.get('method')!r}, format {data.get('format')!r}" if isinstance(data, dict) else type(data).__name__
            raise ModelFolderError(f"{where}: expected an isotonic score calibration (format {FORMAT}), got {got}; {fix}")
        x, y = data.get("x"), data.get("y")
        if not (isinstance(x, list) and isinstance(y, list) and len(x) == len(y) >= 1):
            raise ModelFolderError(f"{where}: \"x\" and \"y\" must be lists of numbers of the same length; {fix}")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in x + y):
            raise ModelFolderError(f"{where}: \"x\" and \"y\" must hold finite numbers only; {fix}")
        if any(b <= a for a, b in zip(x, x[1:])) or any(b < a for a, b in zip(y, y[1:])):
            raise ModelFolderError(f"{where}: \"x\" must increase and \"y\" must not decrease (a monotone map); {fix}")
        if not all(0 <= v <= 1 for v in x + y):
            raise ModelFolderError(f"{where}: scores and probabilities must lie in [0, 1]; {fix}")
        fitted_on = data.get("fitted_on", {})
        return cls(tuple(float(v) for v in x), tuple(float(v) for v in y), fitted_on if isinstance(fitted_on, dict) else {})


def write_calibration(path: str | os.PathLike, calibration: Calibrator) -> Path:
    """Write (atomically) ``calibration.json`` into the model folder ``path``."""
    return write_atomic(Path(path) / CALIBRATION_FILE, json.dumps(calibration.to_dict(), indent=2) + "\n")


def read_calibration(path: str | os.PathLike) -> Calibrator | None:
    """The folder's score calibration, or ``None`` when it has none.

    Raises:
        ModelFolderError: the file is not valid JSON or not a sound calibration.
    """
    file = Path(path) / CALIBRATION_FILE
    if not file.exists():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFolderError(f"{file}: not valid JSON ({getattr(err, 'msg', err)}); refit it with "
                               "scripts/calibrate.py or delete it (scores are then the raw ones)") from None
    return Calibrator.from_dict(data, str(file))


def outcomes(gold: Sequence[Document], pred: Sequence[Document]) -> tuple[np.ndarray, np.ndarray]:
    """Every predicted attribution's score and whether it matches a gold attribution whole
    (1) or not (0), over documents in the same order."""
    if len(gold) != len(pred):
        raise ValueError(f"outcomes needs one prediction per gold document: {len(gold)} gold, {len(pred)} predicted")
    scores, right = [], []
    for g, p in zip(gold, pred):
        matched = {j for _, j in match_attributions(g.attributions, p.attributions)}
        for j, att in enumerate(p.attributions):
            scores.append(att.score if att.score is not None else 0.0)
            right.append(1.0 if j in matched else 0.0)
    return np.asarray(scores, dtype=float), np.asarray(right, dtype=float)


def expected_calibration_error(probs: Sequence[float], right: Sequence[float], bins: int = 10) -> float:
    """ECE: over ``bins`` equal-width bins of [0, 1], the attribution-weighted mean of
    |share right - mean probability|. 0 is perfectly calibrated."""
    probs, right = np.asarray(probs, dtype=float), np.asarray(right, dtype=float)
    if not len(probs):
        return 0.0
    which = np.minimum((probs * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.sum() * abs(right[sel].mean() - probs[sel].mean())
    return float(total / len(probs))


def reliability(probs: Sequence[float], right: Sequence[float], bins: int = 10) -> list[dict[str, float]]:
    """Per non-empty bin: its range, mean probability, share right and count (the points of
    a reliability diagram)."""
    probs, right = np.asarray(probs, dtype=float), np.asarray(right, dtype=float)
    which = np.minimum((probs * bins).astype(int), bins - 1)
    return [{"low": b / bins, "high": (b + 1) / bins, "confidence": float(probs[which == b].mean()),
             "accuracy": float(right[which == b].mean()), "n": int((which == b).sum())}
            for b in range(bins) if (which == b).any()]


def fit_calibrator(scores: Sequence[float], right: Sequence[float], **fitted_on: Any) -> Calibrator:
    """Fit the isotonic map from raw ``scores`` to ``right`` (0/1).

    Args:
        scores: raw scores of predicted attributions.
        right: 1 where the attribution matches a gold one whole, else 0.
        fitted_on: recorded in the calibrator (data, split...).

    Raises:
        InputError: fewer than :data:`MIN_FIT` attributions, or all right or all wrong
            (nothing to learn a map from).
    """
    from sklearn.isotonic import IsotonicRegression

    scores, right = np.asarray(scores, dtype=float), np.asarray(right, dtype=float)
    if len(scores) != len(right):
        raise ValueError(f"scores and right differ in length: {len(scores)} and {len(right)}")
    if len(scores) < MIN_FIT or right.min() == right.max():
        raise InputError(f"cannot fit a score calibration on {len(scores)} predicted attributions of which {int(right.sum())} "
                         f"are right: it needs at least {MIN_FIT}, some right and some wrong; use a larger dev set")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(scores, right)
    # a block of n attributions with k right says (k + 1) / (n + 2), not k / n: a finite
    # sample never proves that a score is always (or never) right; kept monotone
    fitted = iso.predict(iso.X_thresholds_)
    blocks = iso.predict(scores)
    smoothed = {v: (right[blocks == v].sum() + 1) / ((blocks == v).sum() + 2) for v in np.unique(fitted)}
    x = [round(float(v), 6) for v in iso.X_thresholds_]
    y = [round(float(v), 6) for v in np.maximum.accumulate([smoothed[v] for v in fitted])]
    knots: dict[float, float] = {}
    for a, b in zip(x, y):  # rounding may merge two knots: keep the later (higher) value
        knots[a] = b
    cal = Calibrator(tuple(knots), tuple(knots.values()))
    record = {**fitted_on, "attributions": len(scores), "right": int(right.sum()),
              "ece_before": round(expected_calibration_error(scores, right), 4),
              "ece_after": round(expected_calibration_error(cal.apply(scores), right), 4)}
    return replace(cal, fitted_on=record)


def check_min_score(min_score: float) -> float:
    """``min_score`` as a float in [0, 1], or :class:`InputError`."""
    try:
        value = float(min_score)
    except (TypeError, ValueError):
        raise InputError(f"min_score must be a number between 0 and 1, got {min_score!r}") from None
    if not 0 <= value <= 1:
        raise InputError(f"min_score must be between 0 and 1 (a probability when the model is calibrated), got {min_score!r}")
    return value


def filter_min_score(doc: Document, min_score: float) -> tuple[Document, int]:
    """``doc`` without the attributions scored below ``min_score``, and how many were dropped."""
    if not min_score:
        return doc, 0
    kept = tuple(a for a in doc.attributions if a.score is None or a.score >= min_score)
    return replace(doc, attributions=kept), len(doc.attributions) - len(kept)
