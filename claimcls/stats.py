"""Corpus statistics: what ``claimcls stats CORPUS`` prints.

Besides counts, the figures that say whether a corpus has the shape of real news (article
length, attributions per article, quote types, cross-sentence and multi-paragraph contents,
sources without a name, the spread of cue wordings), so that a hand-written corpus can be
compared with an annotated one such as PolNeAR.
"""

from __future__ import annotations

from collections import Counter
from statistics import mean, median
from typing import Any, Sequence

from .schema import KINDS, QUOTES, ROLES, Document

# Sources that are pronouns (or "Both"), counted apart because real news has many.
_PRONOUNS = {"he", "she", "they", "it", "we", "i", "you", "both"}


def _per_doc(values: list[int]) -> dict[str, float]:
    return {"mean": round(mean(values), 1), "median": float(median(values))} if values else {"mean": 0.0, "median": 0.0}


def corpus_stats(docs: Sequence[Document]) -> dict[str, Any]:
    """Counts of documents, sentences, attributions per kind and quote, spans per role,
    sentences without an attribution (one whose cue starts in it), and shape figures:
    words, sentences, paragraphs (lines) and attributions per document, attributions whose
    spans touch several sentences or several paragraphs, content split into pieces, sources
    that are pronouns, distinct cue wordings and the share of the 20 most common."""
    kinds: Counter[str] = Counter()
    quotes: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    cues: Counter[str] = Counter()
    n_sent = n_empty = n_att = n_cross = n_para = n_nosource = n_pieces = n_pronoun = n_after = 0
    for doc in docs:
        n_sent += len(doc.sentences)
        with_att = set()
        for att in doc.attributions:
            n_att += 1
            kinds[att.kind if att.kind is not None else "(unlabelled)"] += 1
            quotes[att.quote] += 1
            cues[att.cue.text.lower()] += 1
            for role, _ in att.spans():
                roles[role] += 1
            n_nosource += att.source is None
            n_pieces += len(att.content) > 1
            if att.source is not None:
                n_pronoun += att.source.text.lower() in _PRONOUNS
                n_after += att.source.start > att.cue.start
            spans = [sp for _, sp in att.spans()]
            n_cross += len(doc.sentences_touched(att)) > 1
            lo, hi = min(sp.start for sp in spans), max(sp.end for sp in spans)
            n_para += "\n" in doc.text[lo:hi]
            if doc.sentence_index(att.cue.start) >= 0:
                with_att.add(doc.sentence_index(att.cue.start))
        n_empty += len(doc.sentences) - len(with_att)
    top20 = sum(c for _, c in cues.most_common(20))
    return {
        "documents": len(docs),
        "sentences": n_sent,
        "sentences_without_attribution": n_empty,
        "attributions": n_att,
        "attributions_without_source": n_nosource,
        "attributions_across_sentences": n_cross,
        "attributions_across_paragraphs": n_para,
        "attributions_with_split_content": n_pieces,
        "sources_pronoun": n_pronoun,
        "sources_after_cue": n_after,
        "per_document": {
            "words": _per_doc([len(d.text.split()) for d in docs]),
            "sentences": _per_doc([len(d.sentences) for d in docs]),
            "paragraphs": _per_doc([len([p for p in d.text.split("\n") if p.strip()]) for d in docs]),
            "attributions": _per_doc([len(d.attributions) for d in docs]),
        },
        "cue_wordings": len(cues),
        "top20_cue_share": round(top20 / n_att, 4) if n_att else 0.0,
        "top_cues": dict(cues.most_common(20)),
        "kinds": {k: kinds[k] for k in (*KINDS, "(unlabelled)") if kinds[k]},
        "quotes": {q: quotes[q] for q in QUOTES},
        "spans": {r: roles[r] for r in ROLES},
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A human-readable table of :func:`corpus_stats`."""
    n_att = max(stats["attributions"], 1)

    def row(label: str, value: int, of: int = n_att) -> str:
        return f"{label:<31}{value:>8}  ({value / max(of, 1):.1%})"

    per = stats["per_document"]
    lines = [
        f"documents                      {stats['documents']:>8}",
        *(f"  {k + ' per document':<29}{v['mean']:>8}  (median {v['median']:g})" for k, v in per.items()),
        f"sentences                      {stats['sentences']:>8}",
        row("  without attribution", stats["sentences_without_attribution"], stats["sentences"]),
        f"attributions                   {stats['attributions']:>8}",
        row("  without source", stats["attributions_without_source"]),
        row("  source a pronoun", stats["sources_pronoun"]),
        row("  source after the cue", stats["sources_after_cue"]),
        row("  across sentences", stats["attributions_across_sentences"]),
        row("  across paragraphs", stats["attributions_across_paragraphs"]),
        row("  content in several pieces", stats["attributions_with_split_content"]),
        f"cue wordings                   {stats['cue_wordings']:>8}  (20 most common: {stats['top20_cue_share']:.1%} of cues)",
        "  " + ", ".join(f"{k} {v}" for k, v in list(stats["top_cues"].items())[:10]),
        "kinds",
        *(f"  {k:<28} {v:>8}  ({v / n_att:.1%})" for k, v in stats["kinds"].items()),
        "quotes",
        *(f"  {k:<28} {v:>8}  ({v / n_att:.1%})" for k, v in stats["quotes"].items()),
        "spans per role",
        *(f"  {k:<28} {v:>8}" for k, v in stats["spans"].items()),
    ]
    return "\n".join(lines)
