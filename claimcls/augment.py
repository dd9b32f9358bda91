"""Training-data augmentation: cue wordings swapped within a kind.

The default model misses cues it never saw ("confidently not a cue": docs/corpus.md §7): a
corpus written by a few hands has each wording in few contexts. :func:`swap_cue_wordings`
gives a share of the attributions another wording of the same kind and verb form taken
from the same corpus ("said" -> "maintained", "accusing" -> "blaming"), moving every span
and sentence after the edit, so each wording is seen in more constructions.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

import numpy as np

from .schema import Attribution, Document, Sentence, Span

# past forms that do not end in -ed, for telling a cue's verb form
_IRREGULAR_PAST = frozenset(
    "said told wrote thought spoke felt knew saw held made took gave put set swore forecast "
    "found meant read taught sought foresaw withheld upheld bore rang hit split stood".split()
)
_WORDS = re.compile(r"^[A-Za-z][A-Za-z' -]*[A-Za-z]$")


_ADVERBS = frozenset("also then later again never not repeatedly once first further publicly privately".split())
_AUXILIARIES = frozenset("be is are was were been being am has have had having do does did will would shall "
                         "should can could may might must".split())


def verb_form(wording: str) -> str | None:
    """``"ing"``, ``"past"`` or ``"s"`` (third person present): the form of the wording's
    verb (its first word after adverbs like "also"), or ``None`` for wordings not swapped
    (punctuation, "according to", passives and other auxiliaries, over four words)."""
    words = wording.lower().split()
    if not _WORDS.match(wording) or len(words) > 4:
        return None
    verb = next((w for w in words if w not in _ADVERBS and not w.endswith("ly")), "")
    if verb in _AUXILIARIES or verb == "according":
        return None
    if verb.endswith("ing"):
        return "ing"
    if verb.endswith("ed") or verb in _IRREGULAR_PAST:
        return "past"
    if verb.endswith("s") and not verb.endswith("ss"):
        return "s"
    return None


def swap_cue_wordings(docs: Sequence[Document], share: float, seed: int = 0) -> list[Document]:
    """Copies of ``docs`` where about ``share`` of the attributions have their cue replaced
    by another wording of the same kind and verb form found among ``docs``'s cues.

    A cue is left alone when another span starts or ends inside it (so no span is cut), or
    when no other wording of its kind and form exists. Case of the first letter is kept.
    """
    pool: dict[tuple[str, str], list[str]] = {}
    for doc in docs:
        for a in doc.attributions:
            form = verb_form(a.cue.text)
            if form:
                pool.setdefault((a.kind, form), []).append(a.cue.text.lower())
    choices = {key: sorted(set(v)) for key, v in pool.items()}
    rng = np.random.default_rng(seed)
    out = []
    for doc in docs:
        edits: list[tuple[int, int, str]] = []
        for a in doc.attributions:
            if any(e[:2] == (a.cue.start, a.cue.end) for e in edits):
                continue  # a cue shared by two attributions is swapped once
            form = verb_form(a.cue.text)
            options = [w for w in choices.get((a.kind, form), ()) if w != a.cue.text.lower()] if form else []
            if options and rng.random() < share and not _cut_by_other_span(doc, a):
                new = options[int(rng.integers(len(options)))]
                edits.append((a.cue.start, a.cue.end, new[0].upper() + new[1:] if a.cue.text[0].isupper() else new))
        out.append(_apply(doc, edits) if edits else doc)
    return out


def _cut_by_other_span(doc: Document, att: Attribution) -> bool:
    c = att.cue
    for a in doc.attributions:
        for s in (a.cue, a.source, a.target, *a.content):
            if s is None or s is c or (s.start, s.end) == (c.start, c.end):
                continue
            if c.start < s.start < c.end or c.start < s.end < c.end:
                return True
    return False


def _apply(doc: Document, edits: list[tuple[int, int, str]]) -> Document:
    """Replace each ``(start, end, text)`` (non-overlapping) and move every span."""
    edits = sorted(edits)
    text = doc.text
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]

    def moved(pos: int, is_end: bool) -> int:
        shift = 0
        for start, end, new in edits:
            # a position after an edited cue moves by the change in length; an end at the
            # cue's end (the cue itself, a span ending with it) moves with it
            if pos > start if is_end else pos >= end:
                shift += len(new) - (end - start)
        return pos + shift

    def span(s, cls=Span):
        if s is None:
            return None
        a, b = moved(s.start, False), moved(s.end, True)
        return cls(a, b, text[a:b])

    atts = tuple(
        dataclasses.replace(a, cue=span(a.cue), source=span(a.source), target=span(a.target),
                            content=tuple(span(s) for s in a.content))
        for a in doc.attributions
    )
    return dataclasses.replace(doc, text=text, sentences=tuple(span(s, Sentence) for s in doc.sentences), attributions=atts)
