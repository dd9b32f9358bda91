"""Sentence segmentation with character offsets.

Paragraphs (lines) are split first, then each paragraph by ``pysbd``, which knows news
abbreviations ("U.S.", "Dr.", "p.m.") and keeps a quotation that runs over several
sentences ("We are done. We will leave," he said.) in one piece. Offsets index the
original text; leading and trailing whitespace is left out of each sentence.
"""

from __future__ import annotations

import functools
import re

from .schema import Sentence

_PARAGRAPH = re.compile(r"[^\n]+")


@functools.lru_cache(maxsize=1)
def _segmenter():
    import pysbd

    return pysbd.Segmenter(language="en", clean=False, char_span=False)


def _pysbd_pieces(paragraph: str) -> list[str]:
    """pysbd's sentences for one paragraph, without ``Segmenter.segment``'s own offset search.

    ``segment`` maps each sentence back to the text with a fresh regular expression per
    sentence (``re.escape(sentence)``), which is compiled every time and took 40% of the
    splitting time; the offsets are found below with ``str.find`` instead. Measured on the
    PolNeAR train and dev texts, the bundled corpus and the seed (1,009 documents, 32,773
    sentences): identical sentences, 0.593 -> 0.356 ms a sentence.
    """
    segmenter = _segmenter()
    return segmenter.processor(paragraph).process()


# pysbd's time grows with the square of the paragraph it is given (a 100,000-character
# paragraph without punctuation took 7.7 s, 200,000 took 30 s): paragraphs longer than this
# are cut into blocks first, at a sentence end where there is one, so the cost is linear in
# the document's length. No paragraph of PolNeAR (longest 2,573 characters) or of the
# bundled corpus comes near it, so their sentences are unchanged. docs/model.md has figures.
MAX_BLOCK = 3_000
# "said. The", "in 2024. He", "leave!\u201d He": two lower-case letters or digits end (so not
# "Dr." or "U.S."), closing quotes or brackets, space, and a capital or digit starts
_BOUNDARY = re.compile(r"(?<=[a-z0-9][a-z0-9][.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"\u201c\u2018(\[]?[A-Z0-9])")


def _blocks(start: int, end: int, text: str) -> list[tuple[int, int]]:
    """``text[start:end]`` (a paragraph) cut into pieces of at most :data:`MAX_BLOCK`
    characters: at the last sentence end past the first tenth of each piece, else at the
    last space in its second half, else (no space at all) at the limit. Each piece is at
    least a tenth of the limit long, so the number of pieces is linear in the length."""
    out = []
    while end - start > MAX_BLOCK:
        lo, hi = start + MAX_BLOCK // 2, start + MAX_BLOCK
        cut = None
        for m in _BOUNDARY.finditer(text, start + MAX_BLOCK // 10, hi):
            cut = m.end()
        if cut is None:
            cut = next((i + 1 for i in range(hi - 1, lo - 1, -1) if text[i].isspace()), hi)
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def split_sentences(text: str, method: str = "pysbd") -> tuple[Sentence, ...]:
    """Split ``text`` into sentences whose offsets index ``text``.

    Time is linear in the length of ``text`` (paragraphs are handed to pysbd in blocks of at
    most :data:`MAX_BLOCK` characters), so a sentence is never longer than that.

    Args:
        text: a whole document.
        method: ``"pysbd"`` (the default) or ``"fast"`` (:func:`split_fast`: rules without
            pysbd, several times faster; docs/model.md has how its sentences differ).

    Returns:
        The sentences in order; they do not overlap and cover every non-space character.

    Example:
        >>> [s.text for s in split_sentences("Dr. Lee said so. It rained.")]
        ['Dr. Lee said so.', 'It rained.']
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects a str, got {type(text).__name__}")
    if method == "fast":
        return split_fast(text)
    if method != "pysbd":
        raise ValueError(f"method must be 'pysbd' or 'fast', got {method!r}")
    out: list[Sentence] = []
    for para in _PARAGRAPH.finditer(text):
        if not para.group().strip():
            continue
        for block_start, block_end in _blocks(para.start(), para.end(), text):
            _split_block(text, block_start, block_end, out)
    return tuple(out)


def _split_block(text: str, block_start: int, block_end: int, out: list[Sentence]) -> None:
    """Append the sentences of ``text[block_start:block_end]`` to ``out``."""
    block = text[block_start:block_end]
    if not block.strip():
        return
    cursor = block_start
    for piece in _pysbd_pieces(block):
        piece = piece.strip()
        if not piece:
            continue
        start = text.find(piece, cursor, block_end)
        if start < 0:  # pysbd altered the text; fall back to the rest of the block
            start = cursor
            while start < block_end and text[start].isspace():
                start += 1
            end = block_end
        else:
            end = start + len(piece)
        if start >= end:
            continue
        out.append(Sentence(start, end, text[start:end]))
        cursor = end
    # anything pysbd left out (it should not) joins the last sentence
    rest = text[cursor:block_end]
    if rest.strip():
        last = out.pop() if out and out[-1].start >= block_start else None
        start = last.start if last else cursor + (len(rest) - len(rest.lstrip()))
        end = block_end - (len(rest) - len(rest.rstrip()))
        out.append(Sentence(start, end, text[start:end]))


# ---------------------------------------------------------------------------- fast rules

# a sentence end: ".", "!" or "?" (or several), closing quotes or brackets, white space, and
# an upper-case letter, a digit or an opening quote or bracket
_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s+[\"'\u201c\u2018(\[]*[A-Z0-9])")
# stretches inside which no sentence ends (pysbd's "between punctuation"): quotations on one
# line and brackets
_QUOTED = re.compile(r'"[^"\n]*"|\u201c[^\u201d\n]*\u201d|\'\'[^\n]*?\'\'|\([^()\n]*\)|\[[^\]\n]*\]')
# words whose period does not end a sentence before a capital ("Dr. Lee", "Sen. Warren")
_TITLES = frozenset("""adm attys brig capt cmdr col cpl det dr gen gov ing lt maj mr mrs ms mt messrs mssrs prof
    ph rep reps rev sen sens sgt st supt v vs fig jr sr""".split())
# pysbd's other abbreviations: their period ends no sentence before a digit ("Sept. 30")
_ABBREVIATIONS = frozenset("""adj adm adv al ala alta apr arc ariz ark art assn asst attys aug ave bart bld bldg blvd
    brig bros btw cal calif capt cl cmdr co col colo comdr con conn corp cpl cres ct dak dec del dept det dist dr drs
    ens esp esq etc exp expy ext feb fed fla ft fwy fy ga gen gov hon hosp hr hway hwy ia id ida ill inc ind ing insp
    jan jr jul jun kan kans ken ky la lt ltd maj man mar mass may md me med messrs mex mfg mich min minn miss mlle mm
    mme mo mont mr mrs ms msgr mssrs mt mtn neb nebr nev no nos nov nr oct ok okla ont op ord ore p pa pd pde penn
    penna pfc ph pl plz pp prof pvt que rd rs ref rep reps res rev rt sask sec sen sens sep sept sfc sgt sr st supt
    surg tce tenn tex univ usafa ut va v ver viz vs vt wash wis wisc wy wyo yuk fig""".split())
_STARTERS = frozenset("A Being Did For He How However I In It Millions More She That The There They We What When Where Who Why".split())
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_fast(text: str) -> tuple[Sentence, ...]:
    """Sentences by rules alone, with the offsets of :func:`split_sentences`: lines first,
    then a sentence ends at ``.!?`` (and any closing quotes) followed by space and a
    capital, digit or opening quote, unless it is inside a quotation or brackets on the same
    line, or the period belongs to a title ("Dr.", "Sen."), an initial ("J. Smith") or an
    abbreviation with inner periods ("U.S.", "p.m.") not followed by a common sentence
    starter ("The", "He"). Linear in the length of ``text``."""
    out: list[Sentence] = []
    for para in _PARAGRAPH.finditer(text):
        start, end = para.start(), para.end()
        protected = [(m.start(), m.end()) for m in _QUOTED.finditer(text, start, end)]
        k = 0
        cut_from = start
        for m in _END.finditer(text, start, end):
            while k < len(protected) and protected[k][1] <= m.start():
                k += 1
            if k < len(protected) and protected[k][0] < m.start() and m.end() < protected[k][1]:
                continue  # inside a quotation or brackets
            if not _ends_here(text, m):
                continue
            _add(text, cut_from, m.end(), out)
            cut_from = m.end()
        _add(text, cut_from, end, out)
    return tuple(out)


def _ends_here(text: str, m: re.Match) -> bool:
    if text[m.start()] != "." or m.end() - m.start() > 1 and text[m.start() + 1] == ".":
        return True  # "!", "?", or an ellipsis
    word = _WORD_BEFORE.search(text, max(0, m.start() - 20), m.start() + 1)
    if word is None or (word.start() > 0 and not text[word.start() - 1].isspace() and text[word.start() - 1] not in "\"'(\u201c\u2018"):
        return True
    w = word.group(1)
    if w.lower() in _TITLES or (w.lower() in _ABBREVIATIONS and text[m.end() :].lstrip()[:1].isdigit()):
        return False
    if len(w) == 1 and w.isupper():
        return False  # an initial
    if w.lower() in ("a.m", "p.m"):
        return True  # "at 9 p.m. Results came": pysbd ends a sentence there before any capital
    if "." in w:  # U.S., Ph.D: a boundary only before a word that often starts one
        nxt = re.match(r"\s+([\"'\u201c\u2018(\[]*)(\w+)", text[m.end() : m.end() + 40])
        return nxt is not None and nxt.group(2) in _STARTERS
    return True


def _add(text: str, start: int, end: int, out: list[Sentence]) -> None:
    piece = text[start:end]
    a = start + len(piece) - len(piece.lstrip())
    b = end - (len(piece) - len(piece.rstrip()))
    if a < b:
        out.append(Sentence(a, b, text[a:b]))
