"""The documents a config trains and selects on: the bundled corpus's train and dev splits,
PolNeAR, and the user's own files, each marked with whether it has full labels."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .augment import swap_cue_wordings
from .config import Config
from .corpus import bundled_split, read_corpus
from .errors import ConfigError
from .schema import Document


@dataclass
class Corpora:
    """Training documents (each with whether it has full labels) and named dev sets."""

    train: list[tuple[Document, bool]]
    dev: dict[str, list[Document]]


def load_corpora(config: Config) -> Corpora:
    """Read the corpora the data config names."""
    d = config.data
    train: list[tuple[Document, bool]] = []
    dev: dict[str, list[Document]] = {}

    def cap(docs, n):
        return docs[:n] if n else docs

    if d.polnear:
        root = d.polnear_path()
        docs = read_corpus(root, split="train", on_invalid="skip") if "train" in d.polnear_train_splits else []
        if d.polnear_fraction < 1:
            keep = sorted(np.random.default_rng(0).permutation(len(docs))[: max(1, round(d.polnear_fraction * len(docs)))])
            docs = [docs[i] for i in keep]
        train += [(doc, False) for doc in cap(docs, d.max_train_docs)]
        polnear_dev = read_corpus(root, split="dev", on_invalid="skip")
        if "dev" in d.polnear_train_splits:  # a final model: dev is training data, never a yardstick
            train += [(doc, False) for doc in cap(polnear_dev, d.max_train_docs)]
        else:
            dev["polnear_dev"] = cap(polnear_dev, d.max_dev_docs)
    if d.bundled:
        docs = read_corpus("bundled")  # its test split is never read here
        held = [doc for doc in docs if bundled_split(doc.id, d.bundled_dev_fraction) == "dev"]
        rest = [doc for doc in docs if bundled_split(doc.id, d.bundled_dev_fraction) == "train"]
        train += [(doc, True) for doc in cap(rest, d.max_train_docs)] * d.bundled_repeat
        if held:
            dev["bundled_dev"] = cap(held, d.max_dev_docs)
    for path in d.train_files:
        train += [(doc, True) for doc in cap(read_corpus(path), d.max_train_docs)]
    for path in d.dev_files:
        dev[Path(path).stem] = cap(read_corpus(path), d.max_dev_docs)
    if d.swap_cue_wordings:
        full = [doc for doc, is_full in train if is_full]
        swapped = iter(swap_cue_wordings(full, d.swap_cue_wordings))
        train = [(next(swapped), True) if is_full else (doc, False) for doc, is_full in train]
    if d.nested_reports == "drop":
        train = [(without_nested_reports(doc), full) for doc, full in train]
    if not train:
        raise ConfigError("no training data: enable data.bundled or data.polnear, or list data.train_files")
    return Corpora(train, dev)


def without_nested_reports(doc: Document) -> Document:
    """``doc`` without the attributions whose cue lies inside another attribution's content."""
    contents = [(i, s) for i, a in enumerate(doc.attributions) for s in a.content]
    keep = tuple(
        a for i, a in enumerate(doc.attributions)
        if not any(j != i and s.start <= a.cue.start and a.cue.end <= s.end for j, s in contents)
    )
    return dataclasses.replace(doc, attributions=keep) if len(keep) < len(doc.attributions) else doc
