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


def split_sentences(text: str) -> tuple[Sentence, ...]:
    """Split ``text`` into sentences whose offsets index ``text``.

    Time is linear in the length of ``text`` (paragraphs are handed to pysbd in blocks of at
    most :data:`MAX_BLOCK` characters), so a sentence is never longer than that.

    Args:
        text: a whole document.

    Returns:
        The sentences in order; they do not overlap and cover every non-space character.

    Example:
        >>> [s.text for s in split_sentences("Dr. Lee said so. It rained.")]
        ['Dr. Lee said so.', 'It rained.']
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects a str, got {type(text).__name__}")
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
