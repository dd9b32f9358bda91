"""Deterministic rules applied on top of spans: quote type and source resolution.

Both are decided from the text itself, so they behave the same on gold and predicted spans
and need no training data (PolNeAR has neither label).
"""

from __future__ import annotations

import re
from typing import Sequence

from .schema import Span

OPEN_QUOTES = "\"“‘'«„"
CLOSE_QUOTES = "\"”’'»“"
_QUOTE_CHARS = set("\"“”«»„")


def quote_type(content: Sequence[Span]) -> str:
    """``direct`` when the content is wholly a quotation, ``mixed`` when part of it is
    quoted, ``indirect`` when it has no quotation marks.

    Single quotes are ignored because they double as apostrophes.
    """
    text = " ".join(s.text for s in content).strip()
    marks = [i for i, ch in enumerate(text) if ch in _QUOTE_CHARS]
    if not marks:
        return "indirect"
    body = text.rstrip(".,;:!? ")
    if text[0] in _QUOTE_CHARS and (body and body[-1] in _QUOTE_CHARS or text[-1] in _QUOTE_CHARS):
        inner = text[1:].rstrip(".,;:!? ")[:-1]
        # a quote closed and reopened inside ('"A," he added, "B"') is still direct when
        # nothing outside quotation marks but punctuation remains
        outside = re.sub(r"[\"“][^\"“”]*[\"”]", "", text)
        if not outside.strip(" .,;:!?") or len([c for c in inner if c in _QUOTE_CHARS]) == 0:
            return "direct"
    return "mixed"


_PRONOUNS = {
    "he", "she", "they", "it", "we", "i", "you", "him", "her", "them", "his", "hers",
    "both", "the two", "both men", "both women",
}
_TITLE_WORDS = {
    "president", "prime", "minister", "foreign", "interior", "defense", "defence", "finance",
    "secretary", "governor", "gov.", "mayor", "senator", "sen.", "rep.", "representative",
    "judge", "justice", "chief", "executive", "officer", "ceo", "director", "spokesman",
    "spokeswoman", "spokesperson", "general", "gen.", "col.", "colonel", "captain", "capt.",
    "dr.", "dr", "mr.", "mrs.", "ms.", "mr", "mrs", "ms", "professor", "prof.", "chairman",
    "chairwoman", "chair", "coach", "manager", "commissioner", "sheriff", "detective",
    "inspector", "lawyer", "attorney", "deputy", "vice", "leader", "head", "former", "acting",
    "russian", "iranian", "the", "a", "an", "mayor", "police", "health", "state", "county",
    "city", "ambassador", "envoy", "king", "queen", "pope", "bishop", "rev.", "sir", "lord",
}
_NAME = re.compile(r"(?:[A-Z][\w’'\-.]*\s)*[A-Z][\w’'\-]*")
_CAP_RUN = re.compile(r"[A-Z][\w’'\-]*(?:\s+(?:[A-Z][\w’'\-]*|de|van|von|bin|al|da|di|la|le)(?=\s|$|[,.;:]))*")


def _name_tokens(text: str) -> list[str]:
    """Capitalised words of ``text`` that are not titles."""
    words = [w.strip(",.;:’'\"“”") for w in text.split()]
    return [w for w in words if w and w[0].isupper() and w.lower() not in _TITLE_WORDS]


def full_names(text: str) -> list[tuple[int, str]]:
    """Runs of capitalised words in ``text`` (candidate names), with their offsets."""
    return [(m.start(), m.group()) for m in _CAP_RUN.finditer(text)]


def resolve_source(source: Span, text: str, earlier_sources: Sequence[tuple[Span, str]]) -> str:
    """The fullest name the document gives ``source``.

    Args:
        source: the source span.
        text: the document text.
        earlier_sources: ``(span, resolved name)`` of the sources before this one, in order.

    Returns:
        For a name ("Araghchi", "Foreign Minister Abbas Araghchi") the longest run of
        capitalised words in the document that ends with the same surname, titles removed;
        for a pronoun ("He", "They", "Both") the resolution of the nearest earlier source
        that is a person name (the two nearest for plural pronouns); otherwise the source's
        own text.
    """
    surface = source.text.strip()
    lowered = surface.lower().strip(",.")
    if lowered in _PRONOUNS or lowered.startswith("both "):
        plural = lowered in {"they", "them", "we", "both", "the two"} or lowered.startswith("both ")
        names: list[str] = []
        for span, resolved in reversed(earlier_sources):
            if span.start >= source.start or not _name_tokens(resolved):
                continue
            if " and " in resolved and not plural:
                continue
            if resolved not in names:
                names.append(resolved)
            if not plural or " and " in resolved or len(names) == 2:
                break
        if not names:
            return surface
        return " and ".join(reversed(names)) if plural else names[0]
    tokens = _name_tokens(surface)
    if not tokens:
        return surface
    surname = tokens[-1]
    best = " ".join(tokens)
    for _, run in full_names(text):
        parts = [w for w in run.split() if w.lower() not in _TITLE_WORDS]
        if parts and parts[-1] == surname and len(parts) > len(best.split()):
            best = " ".join(parts)
    return best
