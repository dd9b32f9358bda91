"""Scoring predicted documents against gold ones (definitions in docs/evaluation.md).

- Per role, exact and overlap precision/recall/F1. Exact: boundaries equal after trimming
  whitespace and edge punctuation. Overlap: proportional credit, |pred ∩ gold| over the
  predicted span's length for precision and over the gold span's for recall, each span
  credited with its best counterpart.
- Whole attributions: a prediction matches a gold attribution (one to one, greedily by
  content overlap) when the cues overlap, the contents' character Jaccard is at least 0.5,
  and the sources overlap or are both absent.
- On matched attributions: kind accuracy and macro-F1, resolved-source accuracy.
- Sentences: has-attribution precision/recall/F1 (a sentence has one when a cue starts in it).
- Attributions whose spans touch more than one sentence are also scored apart.
- Overlays (kinds and targets laid over PolNeAR, claimcls.overlay): the same, on the overlaid
  documents, beside the cue-table baseline's kinds (claimcls.cue_table).
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from .cue_table import cue_table_kind
from .schema import KINDS, ROLES, Attribution, Document, Span

_EDGE = " \t\n\r\u00a0.,;:!?\"'“”‘’«»()[]-—–"


def _trim(span: Span) -> tuple[int, int]:
    text = span.text
    left = len(text) - len(text.lstrip(_EDGE))
    right = len(text) - len(text.rstrip(_EDGE))
    if left + right >= len(text):
        return span.start, span.end
    return span.start + left, span.end - right


def _prf(tp_p: float, n_pred: int, tp_r: float, n_gold: int) -> dict[str, float]:
    p = tp_p / n_pred if n_pred else 0.0
    r = tp_r / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(100 * p, 2), "recall": round(100 * r, 2), "f1": round(100 * f, 2), "pred": n_pred, "gold": n_gold}


def _role_spans(doc: Document, role: str) -> list[Span]:
    seen, out = set(), []
    for att in doc.attributions:
        for r, s in att.spans():
            if r == role and (s.start, s.end) not in seen:
                seen.add((s.start, s.end))
                out.append(s)
    return out


def _inter(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _chars(att: Attribution) -> set[int]:
    return {i for s in att.content for i in range(s.start, s.end)}


def match_attributions(gold: Sequence[Attribution], pred: Sequence[Attribution]) -> list[tuple[int, int]]:
    """One-to-one ``(gold index, pred index)`` matches under the whole-attribution rule."""
    cands = []
    for i, g in enumerate(gold):
        gc = _chars(g)
        for j, p in enumerate(pred):
            if not _inter((g.cue.start, g.cue.end), (p.cue.start, p.cue.end)):
                continue
            pc = _chars(p)
            jac = len(gc & pc) / len(gc | pc) if gc | pc else 0.0
            if jac < 0.5:
                continue
            if (g.source is None) != (p.source is None):
                continue
            if g.source is not None and not _inter((g.source.start, g.source.end), (p.source.start, p.source.end)):
                continue
            cands.append((jac, i, j))
    used_g, used_p, out = set(), set(), []
    for jac, i, j in sorted(cands, reverse=True):
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            out.append((i, j))
    return out


def score(gold: Sequence[Document], pred: Sequence[Document]) -> dict[str, Any]:
    """All metrics of ``pred`` against ``gold`` (same documents, same order or same ids)."""
    if len(gold) != len(pred):
        raise ValueError(f"score needs one prediction per gold document: {len(gold)} gold, {len(pred)} predicted")
    by_id = {d.id: d for d in pred}
    pairs = [(g, by_id.get(g.id, p)) for g, p in zip(gold, pred)]
    labelled = any(a.kind is not None for g in gold for a in g.attributions)
    roles = ROLES if labelled else tuple(r for r in ROLES if r != "target")
    out: dict[str, Any] = {"documents": len(gold)}
    for role in roles:
        ex = [0, 0, 0]  # tp, n_pred, n_gold
        ov = [0.0, 0.0]  # precision credit, recall credit
        for g, p in pairs:
            gs, ps = _role_spans(g, role), _role_spans(p, role)
            gt, pt = {_trim(s) for s in gs}, {_trim(s) for s in ps}
            ex[0] += len(gt & pt)
            ex[1] += len(pt)
            ex[2] += len(gt)
            for s in ps:
                ov[0] += max((_inter((s.start, s.end), (x.start, x.end)) for x in gs), default=0) / max(s.end - s.start, 1)
            for s in gs:
                ov[1] += max((_inter((s.start, s.end), (x.start, x.end)) for x in ps), default=0) / max(s.end - s.start, 1)
        out[role] = {"exact": _prf(ex[0], ex[1], ex[0], ex[2]), "overlap": _prf(ov[0], ex[1], ov[1], ex[2])}
    tp = n_pred = n_gold = 0
    split = {"in_sentence": [0, 0, 0, 0], "cross_sentence": [0, 0, 0, 0]}  # matched pred, pred, matched gold, gold
    kind_pairs: list[tuple[str, str]] = []
    resolved = [0, 0]
    sent = [0, 0, 0]  # tp, pred, gold
    for g, p in pairs:
        m = match_attributions(g.attributions, p.attributions)
        tp += len(m)
        n_pred += len(p.attributions)
        n_gold += len(g.attributions)
        for i, att in enumerate(g.attributions):
            key = "cross_sentence" if len(g.sentences_touched(att)) > 1 else "in_sentence"
            split[key][3] += 1
            split[key][2] += any(i == a for a, _ in m)
        for j, att in enumerate(p.attributions):  # a prediction is split by its own spans (a far target makes it cross)
            key = "cross_sentence" if len(g.sentences_touched(att)) > 1 else "in_sentence"
            split[key][1] += 1
            split[key][0] += any(j == b for _, b in m)
        for i, j in m:
            ga, pa = g.attributions[i], p.attributions[j]
            if ga.kind is not None:
                kind_pairs.append((ga.kind, pa.kind))
            if ga.source is not None and ga.resolved_source and labelled:
                resolved[1] += 1
                resolved[0] += (pa.resolved_source or "").strip().lower() == ga.resolved_source.strip().lower()
        gsent = {g.sentence_index(a.cue.start) for a in g.attributions}
        psent = {g.sentence_index(a.cue.start) for a in p.attributions}
        sent[0] += len(gsent & psent)
        sent[1] += len(psent)
        sent[2] += len(gsent)
    out["attribution"] = _prf(tp, n_pred, tp, n_gold)
    out["attribution_in_sentence"] = _prf(*split["in_sentence"])
    out["attribution_cross_sentence"] = _prf(*split["cross_sentence"])
    out["sentence_has_attribution"] = _prf(sent[0], sent[1], sent[0], sent[2])
    if kind_pairs:
        out["kind"] = _kind_scores(kind_pairs)
    if resolved[1]:
        out["resolved_source"] = {"accuracy": round(100 * resolved[0] / resolved[1], 2), "n": resolved[1]}
    return out


def _kind_scores(kind_pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Accuracy and macro-F1 (over the kinds present in gold) of ``(gold, predicted)`` kinds."""
    from sklearn.metrics import f1_score

    gk, pk = zip(*kind_pairs)
    present = sorted(set(gk), key=KINDS.index)
    return {
        "accuracy": round(100 * sum(a == b for a, b in kind_pairs) / len(kind_pairs), 2),
        "macro_f1": round(100 * f1_score(gk, pk, labels=present, average="macro", zero_division=0), 2),
        "n": len(kind_pairs),
    }


def score_overlay(gold: Sequence[Document], pred: Sequence[Document]) -> dict[str, Any]:
    """:func:`score` on the documents an overlay labelled (``gold``, with kinds and targets),
    beside the cue-table baseline: the kind :func:`~claimcls.cue_table.cue_table_kind` gives
    each gold cue, over every gold attribution and over the gold side of the pairs the
    model's kinds are scored on. ``pred`` may hold more documents (paired by id)."""
    by_id = {d.id: d for d in pred}
    missing = [g.id for g in gold if g.id not in by_id]
    if missing:
        raise ValueError(f"score_overlay needs a prediction for every overlaid document; none for {missing[:3]}")
    pred = [by_id[g.id] for g in gold]
    out = score(gold, pred)
    out.pop("resolved_source", None)  # the gold names come from claimcls's rules, not from the overlay
    every = [(a.kind, cue_table_kind(a.cue.text)) for g in gold for a in g.attributions]
    matched = [(g.attributions[i].kind, cue_table_kind(g.attributions[i].cue.text))
               for g, p in zip(gold, pred) for i, _ in match_attributions(g.attributions, p.attributions)]
    out["cue_table"] = {"all_gold": _kind_scores(every) if every else None, "matched": _kind_scores(matched) if matched else None}
    out["gold_kinds"] = {k: n for k in KINDS if (n := sum(g == k for g, _ in every))}
    return out


def predict_gold(model, docs: Sequence[Document], batch_size: int = 32) -> list[Document]:
    """``model``'s predictions for ``docs``' texts, each under its gold document's id."""
    pred = model.predict([d.text for d in docs], batch_size=batch_size)
    return [type(p)(g.id, p.text, p.sentences, p.attributions) for g, p in zip(docs, pred)]


def evaluate(model, docs: Sequence[Document], batch_size: int = 32) -> dict[str, Any]:
    """Predict ``docs``' texts with ``model`` and :func:`score` against them."""
    return score(docs, predict_gold(model, docs, batch_size))


def format_metrics(m: dict[str, Any]) -> str:
    """A table of :func:`score`'s output."""
    lines = [f"{'':<28}{'P':>8}{'R':>8}{'F1':>8}{'pred':>8}{'gold':>8}"]

    def row(name, d):
        lines.append(f"{name:<28}{d['precision']:>8.2f}{d['recall']:>8.2f}{d['f1']:>8.2f}{d['pred']:>8}{d['gold']:>8}")

    for role in ROLES:
        if role in m:
            row(f"{role} exact", m[role]["exact"])
            row(f"{role} overlap", m[role]["overlap"])
    for key in ("attribution", "attribution_in_sentence", "attribution_cross_sentence", "sentence_has_attribution"):
        row(key.replace("_", " "), m[key])
    if "kind" in m:
        lines.append(f"kind accuracy {m['kind']['accuracy']:.2f}  macro-F1 {m['kind']['macro_f1']:.2f}  (n={m['kind']['n']})")
    if "resolved_source" in m:
        lines.append(f"resolved source accuracy {m['resolved_source']['accuracy']:.2f}  (n={m['resolved_source']['n']})")
    return "\n".join(lines)


def format_overlay(m: dict[str, Any]) -> str:
    """A table of :func:`score_overlay`'s output: the model's figures, then kinds beside the baseline."""
    kinds = ", ".join(f"{k} {n}" for k, n in m["gold_kinds"].items())
    lines = [f"overlay: {m['documents']} documents, {sum(m['gold_kinds'].values())} gold attributions ({kinds})",
             format_metrics(m), f"{'kind':<36}{'accuracy':>10}{'macro-F1':>10}{'n':>6}"]
    for name, d in (("model, on matched attributions", m.get("kind")),
                    ("cue table, on the same gold", m["cue_table"]["matched"]),
                    ("cue table, on every gold cue", m["cue_table"]["all_gold"])):
        if d:
            lines.append(f"{name:<36}{d['accuracy']:>10.2f}{d['macro_f1']:>10.2f}{d['n']:>6}")
    return "\n".join(lines)


def write_metrics(m: dict[str, Any], path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(m, f, indent=2)
        f.write("\n")
