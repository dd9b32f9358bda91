"""Reading and writing corpora: native JSONL, and brat standoff (PolNeAR's layout).

Every reader validates what it reads: offsets inside the text, span text equal to the
text at its offsets, a cue and a content in every attribution, known kinds. A problem
raises :class:`~claimcls.errors.CorpusError` naming the file, document, line and offsets.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

from .atomic import atomic_file, write_atomic
from .brat import (  # noqa: F401 - re-exported
    BRAT_INDEX,
    BratWriter,
    brat_name,
    iter_brat,
    read_brat_index,
    write_brat,
)
from .errors import CorpusError
from .jsonl import dumps_line, split_lines
from .schema import Document, check_text
from .validation import read_text, text_fingerprint, validate_document, with_sentences  # noqa: F401 - re-exported

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "brat")
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")  # compared in lower case: .JSONL is JSONL too


def is_jsonl_path(path: str | os.PathLike) -> bool:
    """Whether a file name says JSON Lines (``.jsonl``, ``.ndjson``, ``.json``, any case)."""
    return Path(path).suffix.lower() in JSONL_SUFFIXES


def bundled_path() -> Path:
    """The path of the annotated corpus that ships inside the package."""
    return Path(str(resources.files("claimcls") / "data" / "bundled.jsonl.gz"))


BUNDLED_SPLITS = ("train", "dev", "test")
BUNDLED_TEST_SHARE = 0.1


def bundled_split(doc_id: str, dev_fraction: float = 0.1) -> str:
    """The split of a bundled document: ``"test"`` for about 10% of documents, ``"dev"`` for
    about ``dev_fraction``, else ``"train"``.

    Decided by a hash of the document id alone, so a document keeps its split when others are
    added, and the test split is the same whatever ``dev_fraction`` a config asks for:
    training never sees it.
    """
    u = int.from_bytes(hashlib.sha256(doc_id.encode("utf-8")).digest()[:8], "big") / 2**64
    if u < BUNDLED_TEST_SHARE:
        return "test"
    return "dev" if u < BUNDLED_TEST_SHARE + dev_fraction else "train"


# --------------------------------------------------------------------------- JSONL


def iter_jsonl(path: str | os.PathLike, *, labels: str = "full") -> Iterator[Document]:
    """Yield validated documents from a JSONL file, one JSON object per line."""
    path = Path(path)
    text = read_text(path)
    seen: set[str] = set()
    for lineno, line in enumerate(split_lines(text), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            raise CorpusError(f"{where}: not valid JSON ({err.msg} at column {err.colno}); each line must be one JSON document") from None
        try:
            doc = Document.from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(f"{where}: {err.args[0] if err.args else err}") from None
        validate_document(doc, where, labels=labels)
        if doc.id in seen:
            raise CorpusError(f"{where}: document id {doc.id!r} appears twice; ids must be unique")
        seen.add(doc.id)
        yield with_sentences(doc)


def write_jsonl(docs: Iterable[Document], path: str | os.PathLike) -> int:
    """Write documents as JSONL (through a temporary file renamed into place: an error
    leaves an existing ``path`` as it was); returns how many were written."""
    def lines():
        for doc in docs:
            check_text(doc.text, f"{path}: document {doc.id!r}")
            yield dumps_line(doc.to_dict())

    if str(path).endswith(".gz"):  # how the bundled corpus ships; mtime 0: same documents, same bytes
        out = list(lines())
        write_atomic(path, gzip.compress("".join(out).encode("utf-8"), compresslevel=9, mtime=0))
        return len(out)
    n = 0
    with atomic_file(path, "w", encoding="utf-8", newline="") as f:
        for line in lines():
            f.write(line)
            n += 1
    return n


# --------------------------------------------------------------------------- entry points


def _guess_format(path: Path) -> str:
    gzipped = path.suffix.lower() == ".gz"  # corpus files only (the bundled one ships so); predict reads plain files
    if is_jsonl_path(path.with_suffix("") if gzipped else path) and not path.is_dir():
        return "jsonl"
    if path.is_dir():
        return "brat"
    raise CorpusError(f"{path}: cannot tell the format from the name; pass format='jsonl' or format='brat'")


def _resolve_brat_folder(path: Path, split: str | None) -> Path:
    """The folder holding text/attributions (or flat brat files) for ``split``."""
    for base in (path, path / "data"):
        if split is not None and (base / split).is_dir():
            return base / split
    if split is not None:
        raise CorpusError(f"{path}: no split folder {split!r} (looked in {path} and {path / 'data'})")
    splits = sorted(p.name for p in (path / "data" if (path / "data").is_dir() else path).iterdir()
                    if p.is_dir() and ((p / "text").is_dir() or any(p.glob("*.txt"))))
    if splits and not any(path.glob("*.txt")) and not (path / "text").is_dir():
        raise CorpusError(f"{path}: holds several splits ({', '.join(splits)}); pass split=NAME")
    return path


def read_corpus(
    source: str | os.PathLike,
    format: str | None = None,
    split: str | None = None,
    *,
    annotator: str | None = None,
    on_invalid: str = "raise",
) -> list[Document]:
    """Read a corpus into documents.

    Args:
        source: a JSONL file, a brat folder (PolNeAR's root, one of its splits, or a flat
            brat folder), ``"bundled"`` for the corpus that ships with claimcls, or a
            ``datasets.Dataset`` in the shape :func:`claimcls.to_dataset` writes.
        format: ``"jsonl"`` or ``"brat"``; guessed from the path when ``None``.
        split: for a corpus folder with splits (``data/train``, ``data/dev``), which one;
            for ``"bundled"``, ``"train"``, ``"dev"`` or ``"test"`` (see :func:`bundled_split`;
            ``None`` gives every document).
        annotator: brat only: read this annotator's files (default: the first ``.ann`` in
            sorted order for each article).
        on_invalid: ``"raise"`` (default) or ``"skip"``: what to do with a brat attribution
            that lacks a cue or content. Skipped ones are counted in one warning.

    Returns:
        The documents, with sentences.

    Raises:
        CorpusError: for any malformed file, naming the file, document, line and offsets.

    Example:
        >>> docs = read_corpus("bundled")
        >>> docs[0].attributions[0].cue.text  # doctest: +SKIP
        'said'
    """
    if on_invalid not in ("raise", "skip"):
        raise ValueError(f"on_invalid must be 'raise' or 'skip', got {on_invalid!r}")
    from .hf_datasets import from_dataset, is_dataset

    if is_dataset(source):
        return from_dataset(source)
    if isinstance(source, str) and source == "bundled":
        docs = list(iter_jsonl(bundled_path()))
        if split is None:
            return docs
        if split not in BUNDLED_SPLITS:
            raise CorpusError(f"the bundled corpus has splits {', '.join(BUNDLED_SPLITS)}; got split={split!r}")
        return [d for d in docs if bundled_split(d.id) == split]
    path = Path(source)
    if not path.exists():
        raise CorpusError(f"{path}: no such file or folder")
    format = format or _guess_format(path)
    if format == "jsonl":
        if split is not None:  # ignoring it would score or count the whole file as if it were the split
            raise CorpusError(f"{path}: a JSONL file has no splits, got split={split!r}; drop --split or give a split's own file")
        return list(iter_jsonl(path))
    if format == "brat":
        return list(iter_brat(_resolve_brat_folder(path, split), annotator=annotator, on_invalid=on_invalid))
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")


def write_corpus(docs: Iterable[Document], path: str | os.PathLike, format: str = "jsonl") -> int:
    """Write documents as ``jsonl`` (a file) or ``brat`` (a folder). Returns the count."""
    if format == "jsonl":
        return write_jsonl(docs, path)
    if format == "brat":
        return write_brat(docs, path)
    raise ValueError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
