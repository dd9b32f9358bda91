"""The one data shape claimcls uses for gold corpora and predictions alike.

Offsets are always character offsets into ``Document.text`` (Python ``str`` indices,
end exclusive). Every class is a frozen dataclass with ``to_dict()`` / ``from_dict()``;
the JSON shape is documented in the README and is stable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

KINDS: tuple[str, ...] = (
    "statement",
    "belief",
    "accusation",
    "denial",
    "criticism",
    "support",
    "appeal",
    "warning",
    "promise",
)
"""The kinds of claim, in a fixed order (label ids follow it)."""

QUOTES: tuple[str, ...] = ("direct", "indirect", "mixed")

ROLES: tuple[str, ...] = ("source", "cue", "content", "target")
"""The span roles of an attribution."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, where: str) -> None:
    """Raise ``ValueError`` (an :class:`~claimcls.errors.InputError`) if ``text`` holds a lone
    UTF-16 surrogate (``"\\ud800"`` in JSON): it is not a character, cannot be written as
    UTF-8, and the tokenizer rejects it."""
    from .errors import InputError

    m = _SURROGATE.search(text)
    if m:
        raise InputError(
            f"{where}: the text holds a lone surrogate \\u{ord(m.group()):04x} at character {m.start()}, which is not "
            "a Unicode character (a UTF-16 pair cut in half upstream); remove it or re-extract the text"
        )


def _int(value: Any, what: str) -> int:
    """An offset: a JSON integer (10, or 10.0), never 10.7, a string or a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{what} must be an integer character offset, got {value!r:.40}")
    return int(value)


def _require(data: Mapping[str, Any], key: str, what: str) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError(f"{what} must be a JSON object, got {type(data).__name__}: {data!r:.80}")
    if key not in data:
        raise KeyError(f"{what} is missing the field {key!r} (it has {sorted(data)})")
    return data[key]


@dataclass(frozen=True)
class Span:
    """A stretch of document text: ``text == document.text[start:end]``."""

    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Span":
        what = f"a {cls.__name__.lower()}"
        text = _require(data, "text", what)
        if not isinstance(text, str):
            raise TypeError(f"{what}'s text must be a string, got {text!r:.40}")
        return cls(_int(_require(data, "start", what), f"{what}'s start"), _int(_require(data, "end", what), f"{what}'s end"), text)

    @classmethod
    def of(cls, text: str, start: int, end: int) -> "Span":
        """The span ``text[start:end]``."""
        return cls(start, end, text[start:end])


@dataclass(frozen=True)
class Attribution:
    """Who (``source``) asserted what (``content``), signalled by ``cue``.

    ``content`` is a tuple because it can be discontinuous ("Both incidents, according to
    X, involved suspects..."). ``target`` is the party accused, criticized, supported or
    appealed to. ``resolved_source`` is the fullest name the document gives the source.
    ``score`` is the model's confidence (``None`` in gold data).
    """

    cue: Span
    content: tuple[Span, ...]
    source: Span | None = None
    target: Span | None = None
    kind: str = "statement"
    quote: str = "indirect"
    resolved_source: str | None = None
    score: float | None = None

    @property
    def start(self) -> int:
        """The first character of any of the attribution's spans."""
        return min(s.start for s in self.spans())

    def spans(self) -> list[tuple[str, Span]]:
        """``(role, span)`` pairs of every span, content pieces included."""
        out: list[tuple[str, Span]] = []
        if self.source is not None:
            out.append(("source", self.source))
        out.append(("cue", self.cue))
        out.extend(("content", s) for s in self.content)
        if self.target is not None:
            out.append(("target", self.target))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source.to_dict() if self.source else None,
            "cue": self.cue.to_dict(),
            "content": [s.to_dict() for s in self.content],
            "target": self.target.to_dict() if self.target else None,
            "kind": self.kind,
            "quote": self.quote,
            "resolved_source": self.resolved_source,
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Attribution":
        content = _require(data, "content", "an attribution")
        if not isinstance(content, list):
            raise TypeError(f"an attribution's 'content' must be a list of spans, got {content!r:.80}")
        cue = Span.from_dict(_require(data, "cue", "an attribution"))
        source = data.get("source")
        target = data.get("target")
        score = data.get("score")
        # written out in every claimcls document (null where a corpus has no kinds): a
        # record without them is not defaulted to "statement"/"indirect" behind the user's back
        kind = _require(data, "kind", "an attribution")
        quote = _require(data, "quote", "an attribution")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise TypeError(f"an attribution's score must be a number or null, got {score!r:.40}")
        return cls(
            cue=cue,
            content=tuple(Span.from_dict(s) for s in content),
            source=Span.from_dict(source) if source is not None else None,
            target=Span.from_dict(target) if target is not None else None,
            kind=kind if kind is None else str(kind),
            quote=str(quote),
            resolved_source=data.get("resolved_source"),
            score=float(score) if score is not None else None,
        )


@dataclass(frozen=True)
class Sentence(Span):
    """A sentence of a document, by character offsets (the same shape as a span)."""


@dataclass(frozen=True)
class Document:
    """A text with its sentences and attributions (gold or predicted)."""

    id: str
    text: str
    sentences: tuple[Sentence, ...] = ()
    attributions: tuple[Attribution, ...] = field(default=())

    def sentence_index(self, pos: int) -> int:
        """The index of the sentence holding character ``pos``; -1 when none does."""
        for i, s in enumerate(self.sentences):
            if s.start <= pos < s.end:
                return i
        return -1

    def sentences_touched(self, att: Attribution) -> set[int]:
        """The indices of the sentences that any of ``att``'s spans overlaps (an attribution
        is cross-sentence when there are several)."""
        return {i for i, s in enumerate(self.sentences) for _, sp in att.spans() if sp.start < s.end and s.start < sp.end}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "sentences": [s.to_dict() for s in self.sentences],
            "attributions": [a.to_dict() for a in self.attributions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Document":
        if not isinstance(data, Mapping):
            raise TypeError(f"a document must be a JSON object, got {type(data).__name__}")
        sentences = data.get("sentences") or []
        attributions = data.get("attributions") or []
        doc_id = _require(data, "id", "a document")
        if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
            raise TypeError(f"a document's id must be a string (or an integer), got {doc_id!r:.40}")
        text = _require(data, "text", "a document")
        if not isinstance(text, str):
            raise TypeError(f"a document's text must be a string, got {type(text).__name__}")
        for key, value in (("sentences", sentences), ("attributions", attributions)):
            if not isinstance(value, list):
                raise TypeError(f"a document's {key} must be a list, got {type(value).__name__}")
        return cls(
            id=str(doc_id),
            text=text,
            sentences=tuple(Sentence.from_dict(s) for s in sentences),
            attributions=tuple(Attribution.from_dict(a) for a in attributions),
        )
