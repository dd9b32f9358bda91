"""Turning documents into model inputs: windows, gold targets for training, and padding.

Window token positions are shifted by one for the [CLS] token the encoder expects (``<s>``
in RoBERTa-style tokenizers: :func:`special_ids`). The
layout of cues, candidates and links is the head protocol's (``heads.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from .encoding import (
    DocEncoding,
    Window,
    encode_document,
    make_windows,
    role_tags,
    token_span,
)
from .errors import ModelFolderError
from .heads import IGNORE, LINK_ROLES
from .schema import KINDS, ROLES, Document


@dataclass
class Example:
    """One window ready for the model; gold fields are empty at prediction time."""

    window: Window
    input_ids: np.ndarray
    case_ids: np.ndarray
    sent_ids: np.ndarray  # sentence index of each position ([CLS] and [SEP] take their neighbour's)
    tags: np.ndarray | None = None  # (T, roles), IGNORE where not supervised
    cues: list[tuple[int, int]] = field(default_factory=list)
    kinds: list[int] = field(default_factory=list)
    cands: list[tuple[int, int, int]] = field(default_factory=list)  # (a, b, link role)
    links: list[tuple[int, int, float]] = field(default_factory=list)  # (cue i, cand j, 0/1)


def special_ids(tokenizer) -> tuple[int, int, int]:
    """The ids that open, close and pad a window: ``cls``/``sep``, else ``bos``/``eos`` (a
    RoBERTa or XLM-R tokenizer may name only those); ``pad``, else the closing id (padding
    is masked, so any id does).

    Raises:
        ModelFolderError: the tokenizer has neither pair.
    """
    first = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    last = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if first is None or last is None:
        raise ModelFolderError(
            f"the tokenizer ({type(tokenizer).__name__}) has no cls_token/sep_token nor bos_token/eos_token, so claimcls "
            "cannot mark a window's start and end; set them in the encoder folder's tokenizer_config.json"
        )
    return first, last, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else last


def _window_ids(tokenizer, enc: DocEncoding, w: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    first, last, _ = special_ids(tokenizer)
    ids = np.array([first, *enc.input_ids[w.start : w.end], last], dtype=np.int64)
    case = np.concatenate([[0], enc.case_ids[w.start : w.end], [0]]).astype(np.int64)
    s = enc.sent_ids[w.start : w.end]
    sent = np.concatenate([s[:1], s, s[-1:]]).astype(np.int64)
    return ids, case, sent


def inference_examples(tokenizer, enc: DocEncoding, max_length: int, context: int, core_share: float = 0.5) -> list[Example]:
    """Windows of one encoded document, without gold."""
    out = []
    for w in make_windows(enc, max_length, context, core_share):
        out.append(Example(w, *_window_ids(tokenizer, enc, w)))
    return out


def training_examples(tokenizer, doc: Document, doc_index: int, max_length: int, context: int, full_labels: bool) -> list[Example]:
    """Windows of one gold document with tag, link and kind targets.

    ``full_labels=False`` (PolNeAR) leaves target tags and kinds unsupervised rather than
    teaching the model that such corpora have no targets.
    """
    enc = encode_document(tokenizer, doc, doc_index)
    tags = role_tags(enc, doc)
    # token ranges of every attribution's spans
    atts = []
    for att in doc.attributions:
        rng = {role: [] for role in ROLES}
        for role, span in att.spans():
            t = token_span(enc, span)
            if t is not None:
                rng[role].append(t)
        if rng["cue"]:
            kind = KINDS.index(att.kind) if (full_labels and att.kind in KINDS) else IGNORE
            atts.append((rng["cue"][0], rng, kind))
    out = []
    for w in make_windows(enc, max_length, context):
        ids, case, sent = _window_ids(tokenizer, enc, w)
        wtags = np.full((len(ids), len(ROLES)), IGNORE, dtype=np.int64)
        wtags[1:-1] = tags[w.start : w.end]
        if not full_labels:
            wtags[:, ROLES.index("target")] = IGNORE
        ex = Example(w, ids, case, sent, wtags)

        def clip(t):
            a, b = max(t[0], w.start), min(t[1], w.end)
            return (a - w.start + 1, b - w.start + 1) if b > a else None

        cand_index: dict[tuple[int, int, int], int] = {}
        for _, rng, _ in atts:
            for r, role in enumerate(LINK_ROLES):
                if role == "target" and not full_labels:
                    continue
                for t in rng[role]:
                    c = clip(t)
                    if c is not None and (*c, r) not in cand_index:
                        cand_index[(*c, r)] = len(ex.cands)
                        ex.cands.append((*c, r))
        for cue_t, rng, kind in atts:
            c = clip(cue_t)
            if c is None or cue_t[0] < w.start:  # only cues whose first token is visible
                continue
            i = len(ex.cues)
            ex.cues.append(c)
            ex.kinds.append(kind)
            linked = set()
            for r, role in enumerate(LINK_ROLES):
                for t in rng[role]:
                    cc = clip(t)
                    if cc is not None:
                        linked.add(cand_index.get((*cc, r)))
            for j in range(len(ex.cands)):
                ex.links.append((i, j, 1.0 if j in linked else 0.0))
        out.append(ex)
    return out


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a batch to its longest window (dynamic padding) and flatten spans with their row."""
    n = max(len(e.input_ids) for e in examples)
    B = len(examples)
    ids = torch.full((B, n), pad_id, dtype=torch.long)
    case = torch.zeros((B, n), dtype=torch.long)
    mask = torch.zeros((B, n), dtype=torch.long)
    sent = torch.zeros((B, n), dtype=torch.long)
    for i, e in enumerate(examples):
        L = len(e.input_ids)
        ids[i, :L] = torch.from_numpy(e.input_ids)
        case[i, :L] = torch.from_numpy(e.case_ids)
        sent[i, :L] = torch.from_numpy(e.sent_ids)
        mask[i, :L] = 1
    batch = {"input_ids": ids, "attention_mask": mask, "case_ids": case, "sent_ids": sent}
    if examples[0].tags is None:
        return batch
    tags = torch.full((B, n, len(ROLES)), IGNORE, dtype=torch.long)
    cues, kinds, cands, links = [], [], [], []
    cue_off = cand_off = 0
    for i, e in enumerate(examples):
        tags[i, : len(e.tags)] = torch.from_numpy(e.tags)
        cues += [(i, a, b) for a, b in e.cues]
        kinds += e.kinds
        cands += [(i, a, b, r) for a, b, r in e.cands]
        links += [(ci + cue_off, cj + cand_off, y) for ci, cj, y in e.links]
        cue_off += len(e.cues)
        cand_off += len(e.cands)
    batch["tags"] = tags
    batch["cues"] = torch.tensor(cues, dtype=torch.long).view(-1, 3)
    batch["kinds"] = torch.tensor(kinds, dtype=torch.long)
    batch["cands"] = torch.tensor(cands, dtype=torch.long).view(-1, 4)
    batch["links"] = torch.tensor(links, dtype=torch.float).view(-1, 3)
    return batch


LABEL_KEYS = ("tags", "cues", "kinds", "cands", "links")
"""The keys of a collated training batch that :meth:`ClaimModel.forward` takes as ``labels``."""
