"""Corpus statistics: what ``claimcls stats CORPUS`` prints."""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from .schema import KINDS, QUOTES, ROLES, Document


def corpus_stats(docs: Sequence[Document]) -> dict[str, Any]:
    """Counts of documents, sentences, attributions per kind and quote, spans per role,
    and sentences without an attribution (one whose cue starts in it)."""
    kinds: Counter[str] = Counter()
    quotes: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    n_sent = n_empty = n_att = n_cross = n_nosource = 0
    for doc in docs:
        n_sent += len(doc.sentences)
        with_att = set()
        for att in doc.attributions:
            n_att += 1
            kinds[att.kind if att.kind is not None else "(unlabelled)"] += 1
            quotes[att.quote] += 1
            for role, _ in att.spans():
                roles[role] += 1
            n_nosource += att.source is None
            sents = {i for i, s in enumerate(doc.sentences)
                     for _, sp in att.spans() if sp.start < s.end and s.start < sp.end}
            n_cross += len(sents) > 1
            with_att.update(i for i, s in enumerate(doc.sentences) if s.start <= att.cue.start < s.end)
        n_empty += len(doc.sentences) - len(with_att)
    return {
        "documents": len(docs),
        "sentences": n_sent,
        "sentences_without_attribution": n_empty,
        "attributions": n_att,
        "attributions_without_source": n_nosource,
        "attributions_across_sentences": n_cross,
        "kinds": {k: kinds[k] for k in (*KINDS, "(unlabelled)") if kinds[k]},
        "quotes": {q: quotes[q] for q in QUOTES},
        "spans": {r: roles[r] for r in ROLES},
    }


def format_stats(stats: dict[str, Any]) -> str:
    """A human-readable table of :func:`corpus_stats`."""
    share = stats["sentences_without_attribution"] / max(stats["sentences"], 1)
    lines = [
        f"documents                      {stats['documents']:>8}",
        f"sentences                      {stats['sentences']:>8}",
        f"  without attribution          {stats['sentences_without_attribution']:>8}  ({share:.1%})",
        f"attributions                   {stats['attributions']:>8}",
        f"  without source               {stats['attributions_without_source']:>8}",
        f"  across sentences             {stats['attributions_across_sentences']:>8}",
        "kinds",
        *(f"  {k:<28} {v:>8}" for k, v in stats["kinds"].items()),
        "quotes",
        *(f"  {k:<28} {v:>8}" for k, v in stats["quotes"].items()),
        "spans per role",
        *(f"  {k:<28} {v:>8}" for k, v in stats["spans"].items()),
    ]
    return "\n".join(lines)
