"""Deterministic rules applied on top of spans: quote type and source resolution.

Both are decided from the text itself, so they behave the same on gold and predicted spans
and need no training data (PolNeAR has neither label).
"""

from __future__ import annotations

import functools
import re
from typing import Sequence

from .schema import Span

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


_SINGULAR = {"he", "she", "him", "her", "i"}
_PLURAL = {"they", "them", "we", "both", "the two", "the pair"}
_TITLES = {
    "president", "prime", "minister", "secretary", "governor", "gov.", "mayor", "senator", "sen.", "rep.",
    "representative", "judge", "justice", "chief", "executive", "officer", "ceo", "director", "spokesman",
    "spokeswoman", "spokesperson", "general", "gen.", "col.", "colonel", "captain", "capt.", "dr.", "dr", "mr.",
    "mrs.", "ms.", "mr", "mrs", "ms", "professor", "prof.", "chairman", "chairwoman", "chair", "coach", "manager",
    "commissioner", "sheriff", "detective", "inspector", "lawyer", "attorney", "deputy", "vice", "leader", "head",
    "former", "acting", "ambassador", "envoy", "king", "queen", "pope", "bishop", "rev.", "sir", "lord", "councillor",
    "councilman", "councilwoman", "superintendent", "chancellor", "speaker", "incumbent", "mp", "sgt.", "lt.",
    "prosecutor", "auditor", "treasurer", "premier", "dean", "principal", "inspector-general", "constable",
}
_ORG_WORDS = {
    "association", "council", "ministry", "party", "union", "court", "company", "inc", "inc.", "corp", "corp.", "group",
    "department", "office", "agency", "institute", "university", "bank", "committee", "commission", "board", "authority",
    "police", "service", "services", "airlines", "airline", "federation", "league", "club", "hospital", "foundation",
    "trust", "society", "network", "coalition", "alliance", "press", "news", "times", "post", "fund", "organisation",
    "organization", "administration", "government", "parliament", "assembly", "senate", "congress", "federation",
    "chemicals", "energy", "motors", "holdings", "partners", "systems", "labs", "laboratories", "observatory", "school",
    "college", "agency", "bureau", "directorate", "inspectorate", "tribunal", "cabinet", "army", "navy", "force",
}
_PARTICLES = {"de", "van", "von", "bin", "al", "da", "di", "la", "le", "du", "del", "der", "ter"}


def _is_cap(word: str) -> bool:
    return word[:1].isupper()


def _clean(word: str) -> str:
    return word.strip(",.;:’'\"“”()")


@functools.lru_cache(maxsize=4096)
def _person_name(phrase: str) -> str | None:
    """The person's name in a noun phrase ("Transport Commissioner Aldo Fenwick" ->
    "Aldo Fenwick"), or ``None`` when the phrase names no person."""
    for segment in re.split(r",|\bwho\b|\bwhich\b|\bof\b|\bin\b|\bat\b|\bfrom\b|\bfor\b", phrase):
        words = [_clean(w) for w in segment.split()]
        words = [w for w in words if w]
        # the last run of capitalised words (with name particles) in the segment
        run: list[str] = []
        for w in words:
            if _is_cap(w) or (run and w.lower() in _PARTICLES):
                run.append(w)
            else:
                run = []
        if not run or run[-1].endswith(("’s", "'s")):
            continue
        if run[-1].lower() in _ORG_WORDS:
            continue
        name: list[str] = []
        for w in reversed(run):  # stop at the first title word from the right
            if w.lower() in _TITLES or w.lower() in ("the", "a", "an"):
                break
            name.insert(0, w)
        if len(name) >= 2:
            keep = 3 if len(name) >= 3 and name[-2].lower() in _PARTICLES else 2
            return " ".join(name[-keep:])
        if len(name) == 1 and len(words) <= 3 and words[-1] == name[0]:
            return name[0]  # a surname alone ("Araghchi")
    return None


@functools.lru_cache(maxsize=256)
def _expand_surname(surname: str, text: str) -> str:
    """The fullest "First Last" in ``text`` that ends with ``surname``."""
    best = surname
    for m in re.finditer(r"((?:[A-Z][\w’'\-]*\s+){1,2})" + re.escape(surname) + r"\b", text):
        words = m.group(1).split()
        while words and (words[0].lower() in _TITLES or words[0].lower() in ("the", "a", "an")):
            words = words[1:]
        words = [w for w in words if w.lower() not in _TITLES]
        if words and not words[-1].endswith(("’s", "'s")):
            cand = " ".join([words[-1], surname])
            if len(cand) > len(best):
                best = cand
    return best


_CAP_RUN = re.compile(r"(?:[A-Z][\w’'\-]*\s+)+[A-Z][\w’'\-]*")


def _person_at(match: re.Match) -> tuple[int, str] | None:
    name = _person_name(match.group())
    if name and " " in name:
        return match.start() + match.group().find(name.split()[0]), name
    return None


@functools.lru_cache(maxsize=8)
def _capitalised_runs(text: str) -> tuple[tuple[int, int, tuple[int, str] | None], ...]:
    """Every capitalised run in ``text`` as ``(start, end, person or None)``, computed once per
    document: a document with many "He"/"They" sources asked for them again for each."""
    return tuple((m.start(), m.end(), _person_at(m)) for m in _CAP_RUN.finditer(text))


def _people_before(text: str, end: int) -> list[tuple[int, str]]:
    """People named in ``text[:end]``, as ``(position, "First Last")``."""
    out = []
    for start, stop, person in _capitalised_runs(text):
        if start >= end:
            break
        if stop <= end:
            if person:
                out.append(person)
        else:  # a run cut by ``end``: what text[:end] holds of it
            out += [p for m in _CAP_RUN.finditer(text, start, end) if (p := _person_at(m))]
    return out


def _two_nearest_people(text: str, end: int) -> str | None:
    """The two different people named last before ``end``, in text order, joined by "and"."""
    people = _people_before(text, end)
    picked: list[tuple[int, str]] = []
    for pos, name in reversed(people):
        if all(name != n for _, n in picked):
            picked.append((pos, name))
        if len(picked) == 2:
            break
    if len(picked) < 2:
        return None
    first = {n: min(p for p, m in people if m == n) for _, n in picked}
    return " and ".join(sorted(first, key=first.get))


def resolve_source(source: Span, text: str, earlier_sources: Sequence[tuple[Span, str]]) -> str:
    """The fullest name the document gives ``source``.

    Args:
        source: the source span.
        text: the document text.
        earlier_sources: ``(span, resolved name)`` of the sources before this one, in order.

    Returns:
        - a person ("Interior Minister Mohsin Naqvi", "Naqvi"): first and last name, titles
          and appositives removed, a lone surname expanded from the document;
        - "he"/"she": the nearest earlier person source (or, failing that, the nearest
          person named in the text before it);
        - "they"/"both": the nearest earlier group source, else the two nearest people;
        - "the governor", "the ministry": the nearest earlier source whose words include
          "governor" / "ministry";
        - anything else (an organisation, "officials", "analysts"): the source's own
          words, without a leading "the".
    """
    surface = source.text.strip()
    lowered = surface.lower().strip(",.")
    people = [(sp, name) for sp, name in earlier_sources if sp.start < source.start and _person_name(name) == name]
    if lowered in _SINGULAR:
        singles = [name for _, name in people if " and " not in name]
        if singles:
            return singles[-1]
        mentions = [m for m in (_person_name(x.group()) for x in _CAP_RUN.finditer(text, 0, source.start)) if m]
        return _expand_surname(mentions[-1].split()[-1], text) if mentions else surface
    if lowered in _PLURAL or lowered.startswith("both "):
        earlier = [(sp, name) for sp, name in earlier_sources if sp.start < source.start]
        if earlier and (" and " in earlier[-1][1] or (lowered in ("they", "them", "we") and _person_name(earlier[-1][1]) != earlier[-1][1])):
            return earlier[-1][1]  # a pair or a group named just before
        near = []  # the two people quoted last, when both were quoted nearby
        for sp, name in reversed(people):
            if source.start - sp.start < 800 and " " in name and " and " not in name and name not in near:
                near.append(name)
        if len(near) >= 2:
            first = {n: text.find(n.split()[-1]) for n in near[:2]}
            return " and ".join(sorted(first, key=first.get))
        pair = _two_nearest_people(text, source.start)
        return pair or (earlier[-1][1] if earlier else surface)
    if " and " in surface and all(_is_cap(part.strip()) for part in surface.split(" and ")):
        return " and ".join(resolve_source(Span(source.start, source.start + len(part), part.strip()), text, earlier_sources)
                            for part in surface.split(" and "))
    person = _person_name(surface)
    if person is not None:
        return _expand_surname(person, text) if " " not in person else person
    m = re.fullmatch(r"(?:the|its|their|his|her)\s+(\w[\w\- ]*)", surface, flags=re.IGNORECASE)
    if m:
        head = m.group(1).lower().split()[-1]
        for sp, name in reversed(earlier_sources):
            if sp.start < source.start and head in sp.text.lower().split():
                return name
        mention = re.search(r"([A-Z][\w’'\-]*\s+)?" + re.escape(head.capitalize()) + r"\s+((?:[A-Z][\w’'\-]*\s+)*[A-Z][\w’'\-]*)", text[: source.start])
        if mention:
            name = _person_name(mention.group(0))
            if name:
                return name
    return _plain_name(surface)


def _plain_name(surface: str) -> str:
    """An organisation or group as the document names it: of "X, a regional body" or "the
    plant's operator, X" the proper-named part, and "The" dropped before a proper name."""
    parts = [p.strip() for p in surface.split(",") if p.strip()]
    if len(parts) > 1:
        proper = [p for p in parts if len([w for w in p.split()[1:] if _is_cap(w)]) >= 1 or (len(p.split()) == 1 and _is_cap(p))]
        surface = proper[-1] if proper and parts[0] not in proper else parts[0]
    m = re.match(r"(?:the|The)\s+(?=[A-Z])", surface)
    return surface[m.end():] if m else surface
