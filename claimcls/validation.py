"""Checking documents against their text, and reading corpus files as text: shared by the
JSONL reader (``corpus.py``) and the brat reader (``brat.py``)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import replace
from pathlib import Path

from .errors import ClaimclsError, CorpusError
from .schema import KINDS, QUOTES, Document, Span, check_text
from .sentences import split_sentences


def read_text(path: Path) -> str:
    """The file's text, exactly (no newline translation); ``.gz`` files are decompressed."""
    try:
        # newline="" keeps "\r\n" as it is: offsets index the file's exact characters
        if path.suffix == ".gz":  # the bundled corpus ships gzipped
            with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
                return f.read()
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError as err:
        raise CorpusError(
            f"{path}: not UTF-8 (byte {err.start} is {err.object[err.start:err.start + 1]!r}); "
            "re-encode the file as UTF-8"
        ) from None
    except (OSError, EOFError) as err:
        raise CorpusError(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None


def _check_span(doc: Document, span: Span, role: str, where: str) -> None:
    n = len(doc.text)
    if not (0 <= span.start < span.end <= n):
        raise CorpusError(
            f"{where}: document {doc.id!r}: {role} span {span.start}-{span.end} is outside the "
            f"text (0-{n}) or empty; offsets are character offsets into the document text"
        )
    actual = doc.text[span.start : span.end]
    if actual != span.text:
        raise CorpusError(
            f"{where}: document {doc.id!r}: {role} span {span.start}-{span.end} says "
            f"{span.text!r:.60} but the text there is {actual!r:.60}; fix the offsets or the span text"
        )


def validate_document(doc: Document, where: str = "<memory>", *, labels: str = "full") -> None:
    """Raise :class:`CorpusError` unless ``doc`` is consistent.

    Args:
        doc: the document to check.
        where: the file and line to name in the error.
        labels: ``"full"`` requires a known kind and quote on every attribution; ``"roles"``
            (corpora such as PolNeAR that label spans only) allows ``kind=None``.
    """
    if not isinstance(doc.id, str) or not doc.id:
        raise CorpusError(f"{where}: a document has no id; give every document a non-empty string id")
    if not isinstance(doc.text, str) or not doc.text.strip():
        raise CorpusError(f"{where}: document {doc.id!r} has an empty text; drop it or give it text")
    try:
        check_text(doc.text, f"{where}: document {doc.id!r}")
    except ClaimclsError as err:
        raise CorpusError(str(err)) from None
    for i, sent in enumerate(doc.sentences):
        _check_span(doc, Span(sent.start, sent.end, sent.text), f"sentence {i}", where)
    for i, att in enumerate(doc.attributions):
        here = f"{where}: attribution {i}"
        if att.cue is None:
            raise CorpusError(f"{here}: document {doc.id!r}: the attribution has no cue; every attribution needs one")
        if not att.content:
            raise CorpusError(
                f"{here}: document {doc.id!r}: the attribution with cue {att.cue.text!r} at "
                f"{att.cue.start}-{att.cue.end} has no content; every attribution needs one"
            )
        for role, span in att.spans():
            _check_span(doc, span, role, here)
        if att.kind is None and labels == "roles":
            pass
        elif att.kind not in KINDS:
            raise CorpusError(
                f"{here}: document {doc.id!r}: unknown kind {att.kind!r} (cue {att.cue.text!r} at "
                f"{att.cue.start}); use one of {', '.join(KINDS)}"
            )
        if att.quote not in QUOTES:
            raise CorpusError(
                f"{here}: document {doc.id!r}: unknown quote {att.quote!r}; use one of {', '.join(QUOTES)}"
            )


def with_sentences(doc: Document) -> Document:
    """``doc`` with sentences filled in by :func:`split_sentences` when it has none."""
    return doc if doc.sentences else replace(doc, sentences=split_sentences(doc.text))


def text_fingerprint(text: str) -> str:
    """A short digest of a text, to recognise the same document again (``--resume``)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
