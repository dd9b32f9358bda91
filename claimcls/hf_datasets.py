"""Hugging Face ``datasets`` and Arrow tables in and out.

- :func:`to_dataset` / :func:`from_dataset` turn documents into a ``datasets.Dataset`` with
  the JSON shape as columns (``id``, ``text``, ``sentences``, ``attributions``) and back;
  :func:`claimcls.read_corpus` accepts such a dataset too.
- :func:`predict_dataset` (also ``model.predict_dataset``) adds an ``attributions`` column to
  any dataset with a text column, batched through ``Dataset.map``.
- :func:`iter_table_items` reads ``(id, text)`` from Parquet and Arrow files lazily, for
  ``claimcls predict``.

The columns keep the JSON shape exactly: a missing source or target is a null struct, an
empty content list stays a list, and offsets stay character offsets into ``text``.

Example:
    >>> import claimcls
    >>> ds = claimcls.to_dataset(claimcls.read_corpus("bundled")[:2])
    >>> ds.column_names
    ['id', 'text', 'sentences', 'attributions']
    >>> claimcls.read_corpus(ds)[0] == claimcls.read_corpus("bundled")[0]
    True
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ClaimclsError, CorpusError
from .schema import Document

if TYPE_CHECKING:  # datasets is imported only when used: it takes a second to import
    import datasets

TABLE_SUFFIXES = (".parquet", ".arrow")


def _span_features():
    from datasets import Value

    return {"start": Value("int64"), "end": Value("int64"), "text": Value("string")}


def attribution_features():
    """The ``datasets`` type of one attribution (the JSON shape, field for field)."""
    from datasets import Value

    span = _span_features()
    return {
        "source": span, "cue": span, "content": [span], "target": span,
        "kind": Value("string"), "quote": Value("string"), "resolved_source": Value("string"), "score": Value("float64"),
    }


def document_features() -> "datasets.Features":
    """The ``datasets.Features`` of a document table: ``id``, ``text``, ``sentences``,
    ``attributions``."""
    from datasets import Features, Value

    # python lists, not datasets.Sequence: Sequence of a dict turns into a dict of lists
    return Features({"id": Value("string"), "text": Value("string"), "sentences": [_span_features()],
                     "attributions": [attribution_features()]})


def to_dataset(docs: Iterable[Document]) -> "datasets.Dataset":
    """Documents as a ``datasets.Dataset``, one row per document in the JSON shape.

    Args:
        docs: gold or predicted documents.

    Returns:
        A dataset with the columns ``id``, ``text``, ``sentences`` and ``attributions``.
    """
    from datasets import Dataset

    if isinstance(docs, (str, bytes)):
        raise TypeError("to_dataset expects documents, got a str; read them first with claimcls.read_corpus(path)")
    rows = [d.to_dict() for d in docs]
    return Dataset.from_list(rows, features=document_features())


def is_dataset(obj: Any) -> bool:
    """Whether ``obj`` is a ``datasets.Dataset`` (without importing ``datasets`` if it is not loaded)."""
    import sys

    ds = sys.modules.get("datasets")
    return ds is not None and isinstance(obj, ds.Dataset)


def from_dataset(ds: "datasets.Dataset", *, validate: bool = True) -> list[Document]:
    """Documents from a dataset with ``id``, ``text`` and (optionally) ``sentences`` and
    ``attributions`` columns, as :func:`to_dataset` writes them.

    Args:
        ds: the dataset.
        validate: check offsets, span texts and kinds as the file readers do.

    Raises:
        CorpusError: a missing column, or a row that breaks the document rules (naming the row).
    """
    from .validation import validate_document, with_sentences

    missing = [c for c in ("id", "text") if c not in ds.column_names]
    if missing:
        raise CorpusError(f"the dataset has no {' or '.join(repr(c) for c in missing)} column (it has {ds.column_names}); "
                          "rename yours with ds.rename_column(old, new)")
    docs, seen = [], set()
    for n, row in enumerate(ds):
        try:
            doc = Document.from_dict(row)
        except (KeyError, TypeError, ValueError) as err:
            raise CorpusError(f"dataset row {n}: {err}") from None
        if validate:
            validate_document(doc, f"dataset row {n}")
        if doc.id in seen:
            raise CorpusError(f"dataset row {n}: document id {doc.id!r} appears twice; ids must be unique")
        seen.add(doc.id)
        docs.append(with_sentences(doc))
    return docs


def predict_dataset(model, ds: "datasets.Dataset", text_column: str = "text", *, id_column: str | None = None,
                    output_column: str = "attributions", batch_size: int = 32, map_batch_size: int = 256,
                    **map_kwargs) -> "datasets.Dataset":
    """``ds`` with a column of predicted attributions, batched through ``ds.map``.

    Args:
        model: a loaded model (:func:`claimcls.load`).
        ds: any dataset with a string column of texts.
        text_column: that column.
        id_column: a column of document ids (used in error messages only).
        output_column: the new column (the attributions in the JSON shape; offsets index
            the row's text).
        batch_size: windows per forward pass.
        map_batch_size: rows handed to the model at a time.
        map_kwargs: passed on to ``Dataset.map`` (``num_proc`` is not useful: the model
            already uses every core).

    Returns:
        A new dataset. Predictions are never read from the ``datasets`` cache: each call
        runs the model.

    Raises:
        ClaimclsError: the text column is missing or holds something other than strings.
    """
    if text_column not in ds.column_names:
        raise ClaimclsError(f"the dataset has no column {text_column!r} (it has {ds.column_names}); "
                            "pass text_column=NAME")
    if output_column in ds.column_names:
        raise ClaimclsError(f"the dataset already has a column {output_column!r}; pass output_column=NAME or remove it")
    from datasets import Features

    features = Features({**ds.features, output_column: [attribution_features()]})

    def label(batch: dict[str, list]) -> dict[str, list]:
        texts = batch[text_column]
        ids = batch[id_column] if id_column else [str(k) for k in range(len(texts))]
        for doc_id, text in zip(ids, texts):
            if not isinstance(text, str):
                raise ClaimclsError(f"row {doc_id!r}: column {text_column!r} must hold strings, got {type(text).__name__}")
        docs = model.predict([{"id": str(i), "text": t} for i, t in zip(ids, texts)], batch_size=batch_size)
        return {output_column: [[a.to_dict() for a in d.attributions] for d in docs]}

    # the model cannot be hashed into a fingerprint cheaply, and a cached result from another
    # model would be wrong: a fresh fingerprint, never the cache
    map_kwargs.setdefault("new_fingerprint", uuid.uuid4().hex)
    map_kwargs.setdefault("load_from_cache_file", False)
    return ds.map(label, batched=True, batch_size=map_batch_size, features=features,
                  desc=map_kwargs.pop("desc", "claimcls"), **map_kwargs)


# --------------------------------------------------------------------------- Parquet and Arrow files


def _arrow_batches(path: Path, columns: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        f = pq.ParquetFile(path)
        names = f.schema_arrow.names
        yield names
        yield from f.iter_batches(columns=[c for c in columns if c in names], batch_size=1024)
        return
    # .arrow: the IPC file format, or the stream format that datasets' cache files use
    source = pa.memory_map(str(path))
    try:
        reader = pa.ipc.open_file(source)
        yield reader.schema.names
        for k in range(reader.num_record_batches):
            yield reader.get_batch(k)
    except pa.ArrowInvalid:
        source.seek(0)
        reader = pa.ipc.open_stream(source)
        yield reader.schema.names
        yield from reader


def iter_table_items(path: str | os.PathLike) -> Iterator[tuple[str, str]]:
    """``(id, text)`` of every row of a Parquet or Arrow file, read a batch at a time.

    The file needs a string column ``text``; ``id`` is optional (default: ``FILE:ROW``).

    Raises:
        ClaimclsError: no ``text`` column, or a row whose text is not a string.
    """
    path = Path(path)
    import pyarrow as pa

    try:
        batches = _arrow_batches(path, ["id", "text"])
        names = next(batches)
    except (pa.ArrowInvalid, OSError) as err:
        raise ClaimclsError(f"input {path}: not a readable {path.suffix[1:]} file ({err})") from None
    if "text" not in names:
        raise ClaimclsError(f"input {path}: has no 'text' column (it has {names}); each row needs a string 'text' and an 'id'")
    row = 0
    for batch in batches:
        data = batch.to_pydict()
        texts = data["text"]
        ids = data.get("id") or [None] * len(texts)
        for doc_id, text in zip(ids, texts):
            if not isinstance(text, str):
                raise ClaimclsError(f"input {path}: row {row}: 'text' must be a string, got {type(text).__name__}")
            yield (str(doc_id) if doc_id is not None else f"{path}:{row}"), text
            row += 1
