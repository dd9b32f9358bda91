"""Character spans <-> token labels, over windows of whole sentences.

A document is tokenized once (fast tokenizer, character offsets). Its sentences are packed
greedily into *windows*: a core of consecutive sentences, plus neighbouring sentences as
context on both sides, up to ``max_length`` tokens. Every sentence is the core of exactly
one window. Spans are tagged BIO per role (a token may carry several roles: a source
inside a quotation is still content). Decoding keeps spans that *start* in the core and
lets them run on into the right context, so content over several sentences survives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .schema import ROLES, Document, Span

O, B, I = 0, 1, 2
N_CASE = 8
_QUOTE_OPEN = set("“«„")
_QUOTE_CLOSE = set("”»")


@dataclass
class DocEncoding:
    """A tokenized document: token ids, their character offsets, and sentence token ranges."""

    doc_index: int
    text: str
    input_ids: list[int]
    offsets: list[tuple[int, int]]
    sent_tokens: list[tuple[int, int]]  # token range [a, b) of each sentence
    case_ids: np.ndarray = field(repr=False, default=None)
    sent_ids: np.ndarray = field(repr=False, default=None)  # sentence index of each token
    starts: np.ndarray = field(repr=False, default=None)  # first character of each token
    ends: np.ndarray = field(repr=False, default=None)  # end character of each token


@dataclass
class Window:
    """A slice ``[start, end)`` of a document's tokens whose ``[core_start, core_end)`` it owns."""

    doc_index: int
    start: int
    end: int
    core_start: int
    core_end: int

    def __len__(self) -> int:
        return self.end - self.start


def case_features(text: str, offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """Per-token surface features the uncased encoders lose: capitalisation and quotes.

    Values: 1 lower, 2 Capitalised, 3 ALL CAPS, 4 digit, 5 other punctuation, 6 quotation
    mark; +8 when the token is inside double quotation marks (within its paragraph).
    """
    out = np.zeros(len(offsets), dtype=np.int64)
    inside = False
    prev_end = 0
    for i, (s, e) in enumerate(offsets):
        if "\n" in text[prev_end:s]:
            inside = False
        prev_end = e
        tok = text[s:e]
        if not tok:
            continue
        ch = tok[0]
        if ch in '"“”«»„':
            kind = 6
            if ch in _QUOTE_OPEN:
                inside = True
            elif ch in _QUOTE_CLOSE:
                inside = False
            else:  # a straight quote opens when it follows a space or starts the text
                inside = not inside
            out[i] = kind + (8 if inside and ch not in _QUOTE_CLOSE else 0)
            continue
        if ch.isdigit():
            kind = 4
        elif ch.isalpha():
            letters = [c for c in text[s:e] if c.isalpha()]
            if ch.isupper():
                kind = 3 if len(letters) > 1 and all(c.isupper() for c in letters) else 2
            else:
                kind = 1
            # a word piece continuing a word takes the case of its word start
            if s > 0 and text[s - 1].isalnum() and i > 0 and offsets[i - 1][1] == s:
                kind = out[i - 1] % 8 or kind
        else:
            kind = 5
        out[i] = kind + (8 if inside else 0)
    return out


def clean_offsets(text: str, offsets: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """Token offsets as the rest of claimcls reads them: in order, not overlapping, and
    without surrounding whitespace; a token of whitespace alone is left zero-width.

    WordPiece offsets are already so. Byte-level BPE without offset trimming (ModernBERT's
    released tokenizer, GPT-2's) gives ``" said"`` for ``Ġsaid``; SentencePiece-style Unigram
    (XLM-R, DeBERTa-v3) gives the text's first ``▁`` the offsets of the character after it,
    so two tokens would claim one quotation mark.
    """
    out = []
    n = len(offsets)
    for i, (s, e) in enumerate(offsets):
        if i + 1 < n and offsets[i + 1][0] >= s:
            e = max(s, min(e, offsets[i + 1][0]))
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        out.append((s, e))
    return out


def encode_document(tokenizer, doc: Document, doc_index: int = 0) -> DocEncoding:
    """Tokenize ``doc`` once and locate its sentences in tokens."""
    enc = tokenizer(doc.text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offsets = enc["input_ids"], clean_offsets(doc.text, enc["offset_mapping"])
    starts = np.array([o[0] for o in offsets], dtype=np.int64)
    ends = np.array([o[1] for o in offsets], dtype=np.int64)
    sents = doc.sentences or ((0, len(doc.text)),)
    sent_tokens = []
    for s in sents:
        s_start, s_end = (s.start, s.end) if hasattr(s, "start") else s
        a = int(np.searchsorted(ends, s_start, side="right"))
        b = int(np.searchsorted(starts, s_end, side="left"))
        if b > a:
            sent_tokens.append((a, b))
    # tokens between sentences (rare: pysbd leaves out nothing but spaces) join the previous one
    fixed = []
    for k, (a, b) in enumerate(sent_tokens):
        nxt = sent_tokens[k + 1][0] if k + 1 < len(sent_tokens) else len(ids)
        a = fixed[-1][1] if fixed else 0
        fixed.append((a, max(b, nxt) if k + 1 == len(sent_tokens) else nxt))
    sent_ids = np.zeros(len(ids), dtype=np.int64)
    for k, (a, b) in enumerate(fixed):
        sent_ids[a:b] = k
    return DocEncoding(doc_index, doc.text, ids, offsets, fixed, case_features(doc.text, offsets), sent_ids, starts, ends)


def make_windows(enc: DocEncoding, max_length: int, context: int = 1, core_share: float = 0.5) -> list[Window]:
    """Pack sentences into windows of at most ``max_length - 2`` tokens (room for [CLS] and
    [SEP]); cores take up to ``core_share`` of that, and each window adds up to ``context``
    sentences either side of its core, as far as they fit, then partial context (the right
    side first: content runs on to the right more often)."""
    budget = max_length - 2
    core_budget = max(int(budget * core_share), 1)
    windows: list[Window] = []
    sents = list(enc.sent_tokens)
    # a sentence longer than the core budget is cut into pieces
    pieces: list[tuple[int, int]] = []
    for a, b in sents:
        while b - a > core_budget:
            pieces.append((a, a + core_budget))
            a += core_budget
        pieces.append((a, b))
    k = 0
    while k < len(pieces):
        a, b = pieces[k]
        j = k + 1
        while j < len(pieces) and pieces[j][1] - a <= core_budget:
            b = pieces[j][1]
            j += 1
        start, end = a, b
        for side in range(context):
            if j + side < len(pieces) and pieces[j + side][1] - start <= budget:
                end = pieces[j + side][1]
            if k - 1 - side >= 0 and end - pieces[k - 1 - side][0] <= budget:
                start = pieces[k - 1 - side][0]
        # fill what room is left with partial context, right first
        room = budget - (end - start)
        if room > 0:
            extra = min(room, len(enc.input_ids) - end)
            end += extra
            start = max(0, start - (room - extra))
        windows.append(Window(enc.doc_index, start, end, a, b))
        k = j
    return windows


def token_span(enc: DocEncoding, span: Span) -> tuple[int, int] | None:
    """Token range ``[a, b)`` covering ``span``; ``None`` when no token overlaps it."""
    a = int(np.searchsorted(enc.ends, span.start, side="right"))
    b = int(np.searchsorted(enc.starts, span.end, side="left"))
    return (a, b) if b > a else None


def role_tags(enc: DocEncoding, doc: Document) -> np.ndarray:
    """BIO tags of every token for every role: shape ``(n_tokens, len(ROLES))``."""
    tags = np.zeros((len(enc.input_ids), len(ROLES)), dtype=np.int64)
    seen: set[tuple[int, int, int]] = set()
    for att in doc.attributions:
        for role, span in att.spans():
            r = ROLES.index(role)
            rng = token_span(enc, span)
            if rng is None or (r, *rng) in seen:
                continue
            seen.add((r, *rng))
            a, b = rng
            tags[a, r] = B
            # do not overwrite the B of another span that starts inside this one
            for t in range(a + 1, b):
                if tags[t, r] != B:
                    tags[t, r] = I
    return tags


_JOINERS = {",", "and", "or", "&"}


def decode_spans(enc: DocEncoding, tags: np.ndarray, lo: int, hi: int, core: tuple[int, int],
                 repair: bool = False, bridge: bool = True) -> list[tuple[int, int]]:
    """Token ranges of the spans in ``tags`` (one role, tokens ``lo..hi`` of the document)
    that start inside ``core``. An ``I`` with no span open starts one.

    With ``repair`` (used on predictions, not on gold): spans are widened to whole words
    ("re ##af ##firmed"), a ``B`` right after a span of the same role in the same sentence
    continues it ("according/B to/B"), and, with ``bridge``, so does a span after a gap of
    at most two joiners ("France , Germany , and the United Kingdom": right for targets and
    content, wrong for cues, where "said , adding" are two; which roles is the caller's choice).
    """
    out: list[list[int]] = []
    t = lo
    while t < hi:
        if tags[t - lo] in (B, I):
            a = t
            t += 1
            while t < hi and tags[t - lo] == I:
                t += 1
            if repair and out and out[-1][1] >= a - (2 if bridge else 0) and enc.sent_ids[out[-1][1] - 1] == enc.sent_ids[a]:
                gap = [enc.text[slice(*enc.offsets[g])].lower() for g in range(out[-1][1], a)]
                if all(g in _JOINERS for g in gap):
                    out[-1][1] = t
                    continue
            out.append([a, t])
        else:
            t += 1
    if repair:
        for span in out:
            while span[0] > lo and _glued(enc, span[0] - 1):
                span[0] -= 1
            while span[1] < hi and _glued(enc, span[1] - 1):
                span[1] += 1
        # two pieces of one word ("re/B ##af/O ##firmed/B") widen into the same span: merge
        merged: list[list[int]] = []
        for span in out:
            if merged and span[0] < merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], span[1])
            else:
                merged.append(span)
        out = merged
    kept = []
    for a, b in out:
        # zero-width tokens (a lone "Ġ" or "▁", see clean_offsets) are no part of a span's text
        while a < b and enc.starts[a] == enc.ends[a]:
            a += 1
        while b > a and enc.starts[b - 1] == enc.ends[b - 1]:
            b -= 1
        if b > a and core[0] <= a < core[1]:
            kept.append((a, b))
    return kept


def _glued(enc: DocEncoding, t: int) -> bool:
    """Whether token ``t`` and token ``t + 1`` are pieces of one word."""
    if t + 1 >= len(enc.offsets):
        return False
    end, nxt = enc.offsets[t][1], enc.offsets[t + 1][0]
    return end == nxt and end > 0 and enc.text[end - 1].isalnum() and enc.text[nxt].isalnum()


def char_span(enc: DocEncoding, a: int, b: int) -> Span:
    """The character span of tokens ``[a, b)``."""
    start, end = enc.offsets[a][0], enc.offsets[b - 1][1]
    return Span(start, end, enc.text[start:end])


def round_trip(enc: DocEncoding, doc: Document, max_length: int) -> set[tuple[str, int, int]]:
    """``(role, start, end)`` of every span that tagging ``doc``'s gold spans on its tokens
    and decoding them back, window by window as training and prediction see them, gives
    (for measuring what the label encoding loses)."""
    tags = role_tags(enc, doc)
    got: set[tuple[str, int, int]] = set()
    for w in make_windows(enc, max_length):
        for r, role in enumerate(ROLES):
            for a, b in decode_spans(enc, tags[w.start : w.end, r], w.start, w.end, (w.core_start, w.core_end)):
                s = char_span(enc, a, b)
                got.add((role, s.start, s.end))
    return got
