"""Kinds and targets laid over a corpus that has none (PolNeAR), by offsets only.

An overlay is a ``.jsonl`` file, or a folder of them, with one line per gold attribution:
``{"doc": ID, "cue": [start, end], "kind": KIND, "target": [start, end] or null}``. ``doc``
and ``cue`` name the attribution exactly as :func:`claimcls.read_corpus` gives it (the cue's
character offsets); ``target`` is character offsets into the same document text. The file
holds no text of the corpus, so it can be committed beside a corpus that may not be.

:func:`apply_overlay` sets the kind and target of the gold attributions of every document
the overlay names, after :func:`overlay_problems` found nothing wrong: each line's document
and cue exist, no gold attribution of an overlaid document is missing or named twice, and
each target lies in the text and is not the whole content. A target may lie inside PolNeAR's
content or cue: PolNeAR keeps the accused or urged party there ("urged X to ...", "accusing
her of", "was accused of" with the party as a content piece; docs/annotation.md §8), where
claimcls's own corpus would not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Sequence

from .errors import CorpusError
from .schema import KINDS, Document, Span


@dataclass(frozen=True)
class OverlayLine:
    """One line of an overlay: the kind and target of the gold attribution ``(doc, cue)``."""

    doc: str
    cue: tuple[int, int]
    kind: str
    target: tuple[int, int] | None
    where: str  # "FILE:LINE", for messages


def _offsets(value, what: str, where: str) -> tuple[int, int]:
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value) or not 0 <= value[0] < value[1]):
        raise CorpusError(f"{where}: {what} must be [start, end] with integer offsets, 0 <= start < end; got {value!r:.60}")
    return value[0], value[1]


def _parse(line: str, where: str) -> OverlayLine:
    try:
        data = json.loads(line)
    except ValueError as err:
        raise CorpusError(f"{where}: not a JSON object ({err}); each line is "
                          '{"doc": ID, "cue": [start, end], "kind": KIND, "target": [start, end] or null}') from None
    if not isinstance(data, dict) or set(data) != {"doc", "cue", "kind", "target"}:
        got = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CorpusError(f"{where}: an overlay line has exactly the fields cue, doc, kind, target; got {got}")
    if not isinstance(data["doc"], str):
        raise CorpusError(f"{where}: doc must be a document id string, got {data['doc']!r:.60}")
    if data["kind"] not in KINDS:
        raise CorpusError(f"{where}: kind {data['kind']!r:.40} is not one of {', '.join(KINDS)}")
    target = None if data["target"] is None else _offsets(data["target"], "target", where)
    return OverlayLine(data["doc"], _offsets(data["cue"], "cue", where), data["kind"], target, where)


def read_overlay(path: str | Path) -> list[OverlayLine]:
    """The lines of an overlay file, or of every ``*.jsonl`` file in a folder (sorted by name).

    Raises:
        CorpusError: the path holds no overlay file, or a line is malformed (names file and line).
    """
    path = Path(path)
    files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
    if not files or not files[0].is_file():
        raise CorpusError(f"{path}: expected an overlay (.jsonl file, or a folder of them); found none")
    out = []
    for file in files:
        for n, line in enumerate(file.read_text(encoding="utf-8").split("\n"), 1):
            if line.strip():
                out.append(_parse(line, f"{file}:{n}"))
    return out


def overlay_problems(docs: Sequence[Document], lines: Iterable[OverlayLine]) -> list[str]:
    """Every way ``lines`` fail to label ``docs``' gold attributions exactly once (empty: none)."""
    by_id = {d.id: d for d in docs}
    problems: list[str] = []
    seen: dict[tuple[str, tuple[int, int]], str] = {}
    for line in lines:
        doc = by_id.get(line.doc)
        if doc is None:
            problems.append(f"{line.where}: no document {line.doc!r} in the corpus (check the split and the id)")
            continue
        atts = [a for a in doc.attributions if (a.cue.start, a.cue.end) == line.cue]
        if not atts:
            problems.append(f"{line.where}: document {line.doc!r} has no gold cue at {list(line.cue)}")
            continue
        key = (line.doc, line.cue)
        if key in seen:
            problems.append(f"{line.where}: the attribution {line.doc!r} cue {list(line.cue)} is already labelled at {seen[key]}")
        seen[key] = line.where
        if line.target is not None:
            s, e = line.target
            if e > len(doc.text):
                problems.append(f"{line.where}: target {[s, e]} ends past the text of {line.doc!r} ({len(doc.text)} characters)")
            elif any(len(a.content) == 1 and (s, e) == (a.content[0].start, a.content[0].end) for a in atts):
                problems.append(f"{line.where}: target {[s, e]} is the whole content; a party that is all the content "
                                "leaves the target null (docs/annotation.md §2, 'The council condemned Brenland')")
    for doc_id in sorted({d for d, _ in seen}):
        doc = by_id[doc_id]
        missing = [[a.cue.start, a.cue.end] for a in doc.attributions if (doc_id, (a.cue.start, a.cue.end)) not in seen]
        if missing:
            problems.append(f"document {doc_id!r}: {len(missing)} gold attributions have no overlay line (cues {missing[:5]}); "
                            "an overlaid document labels every attribution")
        cues = [(a.cue.start, a.cue.end) for a in doc.attributions]
        if len(set(cues)) < len(cues):
            problems.append(f"document {doc_id!r}: two gold attributions share a cue, so cue offsets cannot name them")
    return problems


def apply_overlay(docs: Sequence[Document], lines: Sequence[OverlayLine]) -> list[Document]:
    """The documents ``lines`` name (in corpus order), their gold attributions given kind and target.

    Raises:
        CorpusError: :func:`overlay_problems` found any (the first few are named).
    """
    problems = overlay_problems(docs, lines)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise CorpusError("the overlay does not fit the corpus: " + "; ".join(problems[:3]) + more)
    label = {(x.doc, x.cue): x for x in lines}
    out = []
    for doc in docs:
        if not any((doc.id, (a.cue.start, a.cue.end)) in label for a in doc.attributions):
            continue
        atts = []
        for a in doc.attributions:
            x = label[(doc.id, (a.cue.start, a.cue.end))]
            target = Span.of(doc.text, *x.target) if x.target else None
            atts.append(replace(a, kind=x.kind, target=target))
        out.append(replace(doc, attributions=tuple(atts)))
    return out
