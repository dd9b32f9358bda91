"""The head protocol: how spans, links and kinds are laid out, trained and decoded.

The network (``modeling.py``) scores; this module says what its inputs and outputs mean.

- **Tags**: BIO per span role (:data:`~claimcls.schema.ROLES`), tag logits ``(B, T, roles, 3)``.
- **Candidates**: a cue is ``(row, start, end)`` and a link candidate ``(row, start, end,
  role)`` in window token positions (``[CLS]`` is position 0), ``role`` indexing
  :data:`LINK_ROLES`. The columns are named by :data:`ROW`, :data:`START`, :data:`END`,
  :data:`ROLE`. At training time :func:`~claimcls.batching.collate` lays out the gold
  cues and candidates and one ``(cue, candidate, 0/1)`` row per pair in a window.
- **Loss** (:func:`loss`): tag cross-entropy + link loss + kind cross-entropy. A cue's
  source (and target) is one choice among its candidates and a "none" option; each content
  candidate is accepted or not on its own, since content can come in several pieces.
- **Decoding** (:func:`decode`): spans from the best well-formed BIO tag sequence
  (:func:`bio_viterbi`; or each token's argmax tag, as folders saved before it), then links and kinds scored
  for every cue and candidate in the same window, then the decisions that
  :class:`~claimcls.config.DecodeConfig` (saved in the model folder) controls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.nn import functional as F

from .config import DecodeConfig
from .encoding import DocEncoding, char_span, decode_spans
from .rules import quote_type
from .schema import KINDS, ROLES, Attribution

if TYPE_CHECKING:  # pragma: no cover
    from .batching import Example
    from .modeling import ClaimModel

IGNORE = -100
"""Target value of what is not supervised (PyTorch's ``ignore_index``)."""

LINK_ROLES = ("source", "content", "target")
"""The roles a cue links to; a candidate's ``ROLE`` column indexes this tuple."""
LINK = {role: i for i, role in enumerate(LINK_ROLES)}
TAG = {role: i for i, role in enumerate(ROLES)}
ROW, START, END, ROLE = 0, 1, 2, 3  # columns of cues (the first three) and candidates
CUE, CAND, GOLD = 0, 1, 2  # columns of gold link rows


# ---------------------------------------------------------------------------- features


def pair_features(cues: torch.Tensor, cands: torch.Tensor, i: torch.Tensor, j: torch.Tensor,
                  sent_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For pairs (cue ``i``, candidate ``j``): the candidate's start minus the cue's in
    tokens, the same in sentences, and the candidate's link role."""
    delta = cands[j, START] - cues[i, START]
    sent_delta = sent_ids[cands[j, ROW], cands[j, START]] - sent_ids[cues[i, ROW], cues[i, START]]
    return delta, sent_delta, cands[j, ROLE]


# ---------------------------------------------------------------------------- training


def loss(module: ClaimModel, hidden: torch.Tensor, tag_logits: torch.Tensor, labels: Mapping[str, torch.Tensor],
         sent_ids: torch.Tensor, weights: Mapping[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
    """Tagging cross-entropy + ``weights["link"]`` x linking loss + ``weights["kind"]`` x
    kind cross-entropy; also each part's value, for the log."""
    tag_loss = F.cross_entropy(tag_logits.float().reshape(-1, 3), labels["tags"].reshape(-1), ignore_index=IGNORE)
    total = tag_loss
    parts = {"tag": tag_loss.item()}
    cues, cands, links, kinds = labels["cues"], labels["cands"], labels["links"], labels["kinds"]
    if len(cues):
        cue_repr = module.span_repr(hidden, cues)
        if len(links):
            cand_repr = module.span_repr(hidden, cands[:, :3])
            i, j = links[:, CUE].long(), links[:, CAND].long()
            delta, sent_delta, role = pair_features(cues, cands, i, j, sent_ids)
            logits = module.link_logits(cue_repr[i], cand_repr[j], delta, role, sent_delta).float()
            link_loss = _choice_loss(logits, links[:, GOLD], i, role, module.null_logits(cue_repr).float(), kinds != IGNORE)
            total = total + weights["link"] * link_loss
            parts["link"] = link_loss.item()
        if (kinds != IGNORE).any():
            kind_loss = F.cross_entropy(module.kind_logits(cue_repr).float(), kinds, ignore_index=IGNORE)
            total = total + weights["kind"] * kind_loss
            parts["kind"] = kind_loss.item()
    return total, parts


def _choice_loss(logits, y, cue_of, role, null_logits, full) -> torch.Tensor:
    """Content: binary cross-entropy per candidate (content may have several pieces).
    Source and target: cross-entropy of choosing the gold candidate, or "none", among a
    cue's candidates of that role. Targets count only for cues from fully labelled corpora
    (those whose kind is supervised)."""
    content = role == LINK["content"]
    losses = []
    if content.any():
        losses.append(F.binary_cross_entropy_with_logits(logits[content], y[content], reduction="sum"))
    for name in ("source", "target"):
        r = LINK[name]
        for c in range(null_logits.shape[0]):
            if name == "target" and not bool(full[c]):
                continue
            sel = (role == r) & (cue_of == c)
            scores = torch.cat([logits[sel], null_logits[c, r : r + 1]])
            pos = torch.nonzero(y[sel] > 0)
            gold = int(pos[0]) if len(pos) else len(scores) - 1
            losses.append(F.cross_entropy(scores.unsqueeze(0), torch.tensor([gold], device=scores.device), reduction="sum"))
    n = max(int(content.sum()) + 2 * null_logits.shape[0], 1)
    return torch.stack(losses).sum() / n if losses else logits.sum() * 0


# ---------------------------------------------------------------------------- decoding


@dataclass
class Scores:
    """What the heads say about the decoded spans of one batch."""

    link: np.ndarray  # (pairs,) link logits, in the order of the pairs asked for
    null: np.ndarray  # (cues, link roles) logits of "no span of this role"
    kind: np.ndarray  # (cues, kinds) probabilities


Scorer = Callable[[list[tuple[int, int, int]], list[tuple[int, int, int, int]], list[tuple[int, int]]], Scores]
"""``(cues, candidates, pairs) -> Scores``: the network's judgement of decoded spans."""


def scorer(module: ClaimModel, hidden: torch.Tensor, sent_ids: torch.Tensor) -> Scorer:
    """A :data:`Scorer` that runs ``module``'s span, link and kind heads on ``hidden``."""

    def score(cues, cands, pairs) -> Scores:
        dev = hidden.device
        cue_t = torch.tensor(cues, dtype=torch.long, device=dev)
        csum = module.span_sums(hidden)  # shared by the cues' and the candidates' representations
        cue_repr = module.span_repr(hidden, cue_t, csum)
        kinds = module.kind_logits(cue_repr).float().softmax(-1).cpu().numpy()
        nulls = module.null_logits(cue_repr).float().cpu().numpy()
        link = np.zeros(0)
        if pairs:
            cand_t = torch.tensor(cands, dtype=torch.long, device=dev).view(-1, 4)
            cand_repr = module.span_repr(hidden, cand_t[:, :3], csum)
            pi, pj = (torch.from_numpy(a).to(dev) for a in np.array(pairs).T)
            delta, sent_delta, role = pair_features(cue_t, cand_t, pi, pj, sent_ids.to(dev))
            link = module.link_logits(cue_repr[pi], cand_repr[pj], delta, role, sent_delta).float().cpu().numpy()
        return Scores(link, nulls, kinds)

    return score


def decode(batch: Sequence[Example], encs: Sequence[DocEncoding], tag_logits: torch.Tensor, score: Scorer,
           config: DecodeConfig) -> Iterator[tuple[int, Attribution]]:
    """The attributions of a batch of windows, each with the index of its document.

    Args:
        batch: the windows, in the rows of ``tag_logits``.
        encs: the encoded documents, indexed by ``Example.window.doc_index``.
        tag_logits: ``(B, T, roles, 3)`` from the tagger.
        score: scores cues and candidates (:func:`scorer` for the network).
        config: thresholds and switches (saved in the model folder).
    """
    tag_logits = tag_logits.float()
    if config.cue_bias:
        tag_logits = tag_logits.clone()
        tag_logits[..., ROLES.index("cue"), 1:] += config.cue_bias
    probs = tag_logits.softmax(-1)
    tag_p = probs.max(-1).values.cpu().numpy()
    if config.tag_decoder == "viterbi":
        logp = tag_logits.log_softmax(-1).cpu().numpy()
        rows, T, R, _ = logp.shape
        # [CLS], [SEP] and padding are O: their logits are not trained, and an I there
        # would pull the last real token into a span through the I-after-B-or-I rule
        real = np.zeros((rows, T), dtype=bool)
        for row, ex in enumerate(batch):
            real[row, 1 : len(ex.input_ids) - 1] = True
        logp[~real] = np.log([1.0, 1e-30, 1e-30])
        tags = bio_viterbi(logp.transpose(0, 2, 1, 3).reshape(rows * R, T, 3)).reshape(rows, R, T).transpose(0, 2, 1)
    else:
        tags = probs.argmax(-1).cpu().numpy()
    cues, cands = _find_spans(batch, encs, tags, config)
    if not cues:
        return
    cands_of_row: dict[int, list[int]] = {}
    for j, c in enumerate(cands):
        cands_of_row.setdefault(c[ROW], []).append(j)
    pairs = [(i, j) for i, c in enumerate(cues) for j in cands_of_row.get(c[ROW], ())]
    scores = score(cues, cands, pairs)
    by_cue: dict[int, list[tuple[int, float]]] = {}
    for (i, j), z in zip(pairs, scores.link):
        by_cue.setdefault(i, []).append((j, float(z)))
    for i, (row, a, b) in enumerate(cues):
        w = batch[row].window
        enc = encs[w.doc_index]

        def span_of(a_, b_):
            return char_span(enc, a_ - 1 + w.start, b_ - 1 + w.start)

        best: dict[int, list[tuple[float, int]]] = {r: [] for r in LINK.values()}
        for j, z in by_cue.get(i, []):
            best[cands[j][ROLE]].append((z, j))
        content_p = [(1 / (1 + np.exp(-z)), j) for z, j in best[LINK["content"]]]
        contents = sorted(j for p, j in content_p if p > config.content_threshold)
        if not contents:
            if not content_p or max(content_p)[0] < config.content_fallback:
                continue  # a cue with nothing said is not an attribution
            contents = [max(content_p)[1]]
        src = _choose(best[LINK["source"]], scores.null[i, LINK["source"]])
        tgt = _choose(best[LINK["target"]], scores.null[i, LINK["target"]])
        pieces = sorted({(cands[j][START], cands[j][END]) for j in contents})
        if config.merge_content:
            blockers = [(a, b)] + ([(cands[src][START], cands[src][END])] if src is not None else [])
            pieces = merge_pieces(pieces, blockers)
        content = tuple(span_of(*p) for p in pieces)
        cue_score = float(tag_p[row, a:b, TAG["cue"]].mean())
        link_score = float(max(p for p, j in content_p if j in contents))
        yield w.doc_index, Attribution(
            cue=span_of(a, b),
            content=content,
            source=span_of(cands[src][START], cands[src][END]) if src is not None else None,
            target=span_of(cands[tgt][START], cands[tgt][END]) if tgt is not None else None,
            kind=KINDS[int(scores.kind[i].argmax())],
            quote=quote_type(content),
            score=round(cue_score * link_score, 4),
        )


def bio_viterbi(logp: np.ndarray) -> np.ndarray:
    """The most probable tag sequence of each row of ``logp`` (``(N, T, 3)`` log-probabilities
    of O, B, I) among those where an I follows a B or an I: a span starts with its B, so
    "O I I" is not a reading, and the choice between "B I I" and "O O O" is made on the
    whole run instead of token by token. Vectorised over rows; a loop over positions."""
    O, B, I = 0, 1, 2
    N, T, _ = logp.shape
    rows = np.arange(N)
    score = logp[:, 0].copy()
    score[:, I] = -np.inf
    back = np.zeros((N, T, 3), dtype=np.int8)
    for t in range(1, T):
        any_best = score.argmax(1)  # O and B may follow anything
        in_best = np.where(score[:, B] >= score[:, I], B, I)  # I follows B or I
        top, top_in = score[rows, any_best], score[rows, in_best]
        back[:, t, O] = back[:, t, B] = any_best
        back[:, t, I] = in_best
        score = np.stack([top + logp[:, t, O], top + logp[:, t, B], top_in + logp[:, t, I]], axis=1)
    path = np.empty((N, T), dtype=np.int64)
    path[:, -1] = score.argmax(1)
    for t in range(T - 1, 0, -1):
        path[:, t - 1] = back[rows, t, path[:, t]]
    return path


def _find_spans(batch, encs, tags: np.ndarray, config: DecodeConfig):
    """Cues whose first token is in a window's core, and link candidates anywhere in it."""
    cues: list[tuple[int, int, int]] = []
    cands: list[tuple[int, int, int, int]] = []
    for row, ex in enumerate(batch):
        w, enc = ex.window, encs[ex.window.doc_index]
        T = len(ex.input_ids) - 2
        for a, b in decode_spans(enc, tags[row, 1 : T + 1, TAG["cue"]], w.start, w.end, (w.core_start, w.core_end),
                                 config.repair, "cue" in config.bridge_roles):
            cues.append((row, a - w.start + 1, b - w.start + 1))
        for role, r in LINK.items():
            for a, b in decode_spans(enc, tags[row, 1 : T + 1, TAG[role]], w.start, w.end, (w.start, w.end),
                                     config.repair, role in config.bridge_roles):
                cands.append((row, a - w.start + 1, b - w.start + 1, r))
    return cues, cands


def _choose(scored: list[tuple[float, int]], null: float) -> int | None:
    """The best-scoring candidate, or ``None`` when "none" scores higher."""
    if not scored:
        return None
    z, j = max(scored)
    return j if z > null else None


def merge_pieces(pieces: list[tuple[int, int]], blockers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join consecutive content pieces of one attribution unless its cue or source lies
    between them: "both ministers welcomed the agreement" tagged as "both" + "agreement"
    (the words in between belong to a nested report) is one content; "Both incidents,
    according to Naqvi, involved suspects" stays two pieces around the cue and source."""
    out = [list(pieces[0])] if pieces else []
    for a, b in pieces[1:]:
        if any(out[-1][1] <= x and y <= a for x, y in blockers):
            out.append([a, b])
        else:
            out[-1][1] = max(out[-1][1], b)
    return [(a, b) for a, b in out]
