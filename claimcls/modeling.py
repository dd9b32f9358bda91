"""The network: a pretrained encoder with heads for spans, links and kinds.

- **Case features**: the default encoders are uncased, so a small embedding of each token's
  capitalisation and whether it sits inside quotation marks is added to the input
  embeddings (initialised at zero: training starts from the pretrained model exactly).
- **Tagger**: BIO per role (source, cue, content, target) from each token's hidden state;
  roles are independent so a token can be content of one attribution and source of another.
- **Linker**: span representations (first token, last token, mean) of a cue and of a
  candidate span, their product and the signed distance in tokens (bucketed) and in
  sentences, scored by an MLP with one
  output per role. A cue's source (and target) is chosen by a softmax over its candidates
  and a "none" option; each content candidate is accepted or not on its own, since content
  can come in several pieces.
- **Kind**: a classifier over the cue's span representation.

What the heads' inputs and outputs mean, the loss and the decoding are in ``heads.py``.
This module reads pretrained encoders (:func:`build_encoder`) and never trains (see
``training.py``) or writes files (see ``folder.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import heads
from .config import ModelConfig, default_encoder_path
from .encoders import encoder_path
from .encoding import N_CASE
from .errors import ConfigError, ModelFolderError
from .heads import END, LINK_ROLES, ROW, START
from .schema import KINDS, ROLES

EXACT_DIST = 4  # token distances below this get a bucket each, longer ones a log2 bucket
N_DIST = 24  # distance buckets: half for candidates before the cue, half for those after
DIST_DIM = 32
MAX_SENT_DIST = 3  # sentences between a cue and a candidate, clamped to ±3
SENT_DIST_DIM = 16


def distance_bucket(delta: torch.Tensor) -> torch.Tensor:
    """Bucket signed token distances: exact up to ±4, then log-spaced, :data:`N_DIST` buckets."""
    half = N_DIST // 2
    sign = (delta >= 0).long()
    mag = delta.abs().float()
    log = EXACT_DIST + torch.log2(mag.clamp(min=1) / EXACT_DIST).floor() * 1.0
    bucket = torch.where(mag < EXACT_DIST, mag, log).clamp(max=half - 1).long()
    return sign * half + bucket


@dataclass
class ClaimOutput:
    """What :meth:`ClaimModel.forward` returns: hidden states ``(B, T, H)`` and tag logits
    ``(B, T, roles, 3)`` always; with labels, the weighted loss and its parts."""

    hidden: torch.Tensor
    tag_logits: torch.Tensor
    loss: torch.Tensor | None = None
    loss_parts: dict[str, float] = field(default_factory=dict)


class ClaimModel(nn.Module):
    """Encoder + tagger + linker + kind classifier (see the module docstring)."""

    def __init__(self, config: ModelConfig, encoder: nn.Module):
        super().__init__()
        self.config = config
        self.encoder = encoder
        limit = max_positions(encoder)
        if limit is not None and config.max_length > limit:
            raise ConfigError(f"model.max_length is {config.max_length} but the {encoder.config.model_type} encoder "
                              f"takes at most {limit} tokens; set model.max_length to {limit} or less")
        hidden = encoder.config.hidden_size
        # added to the input embeddings, which can be narrower than the hidden states (ELECTRA)
        self.case_embedding = nn.Embedding(2 * N_CASE, encoder.get_input_embeddings().embedding_dim)
        nn.init.zeros_(self.case_embedding.weight)
        self.dropout = nn.Dropout(config.dropout)
        self.tagger = nn.Linear(hidden, len(ROLES) * 3)
        d = config.span_dim
        self.span_proj = nn.Sequential(nn.Linear(3 * hidden, d), nn.GELU(), nn.LayerNorm(d))
        self.dist_embedding = nn.Embedding(N_DIST, DIST_DIM)
        self.sent_dist_embedding = nn.Embedding(2 * MAX_SENT_DIST + 1, SENT_DIST_DIM)
        # cue, candidate and their product, then the two distances
        self.linker = nn.Sequential(
            nn.Linear(3 * d + DIST_DIM + SENT_DIST_DIM, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, len(LINK_ROLES))
        )
        self.kind_head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(d, len(KINDS)))
        # the score of "no source" / "no target" for a cue, competing with its candidates
        self.null_head = nn.Linear(d, len(LINK_ROLES))

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, case_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden states ``(B, T, H)`` and tag logits ``(B, T, roles, 3)``."""
        embeds = self.encoder.get_input_embeddings()(input_ids)
        if self.config.case_features:
            embeds = embeds + self.case_embedding(case_ids)
        hidden = self.encoder(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state
        logits = self.tagger(self.dropout(hidden))
        return hidden, logits.view(*logits.shape[:2], len(ROLES), 3)

    @staticmethod
    def span_sums(hidden: torch.Tensor) -> torch.Tensor:
        """Prefix sums of ``hidden`` over tokens ``(B, T + 1, H)``, for span means."""
        return torch.nn.functional.pad(hidden.float().cumsum(1), (0, 0, 1, 0))

    def span_repr(self, hidden: torch.Tensor, spans: torch.Tensor, csum: torch.Tensor | None = None) -> torch.Tensor:
        """Representations of ``spans`` ``(N, 3)`` = (batch row, first token, end token);
        ``csum``: :meth:`span_sums` of ``hidden`` when several calls share it."""
        if spans.numel() == 0:
            return hidden.new_zeros((0, self.config.span_dim))
        b, a, e = spans[:, ROW], spans[:, START], spans[:, END]
        if csum is None:
            csum = self.span_sums(hidden)
        mean = (csum[b, e] - csum[b, a]) / (e - a).clamp(min=1).unsqueeze(-1).float()
        feats = torch.cat([hidden[b, a], hidden[b, e - 1], mean.to(hidden.dtype)], dim=-1)
        return self.span_proj(self.dropout(feats))

    def link_logits(self, cue_repr: torch.Tensor, cand_repr: torch.Tensor, delta: torch.Tensor, roles: torch.Tensor,
                    sent_delta: torch.Tensor) -> torch.Tensor:
        """One logit per pair: cue ``i`` with candidate ``j`` of role ``roles`` (index into
        :data:`~claimcls.heads.LINK_ROLES`); ``delta`` = candidate start minus cue start in
        tokens, ``sent_delta`` the same in sentences (:func:`~claimcls.heads.pair_features`)."""
        sent = self.sent_dist_embedding(sent_delta.clamp(-MAX_SENT_DIST, MAX_SENT_DIST) + MAX_SENT_DIST)
        feats = torch.cat([cue_repr, cand_repr, cue_repr * cand_repr, self.dist_embedding(distance_bucket(delta)), sent], dim=-1)
        out = self.linker(feats)
        return out.gather(1, roles.unsqueeze(1)).squeeze(1)

    def null_logits(self, cue_repr: torch.Tensor) -> torch.Tensor:
        """Per cue, the logit of having no span of each link role ``(N, len(LINK_ROLES))``."""
        return self.null_head(cue_repr)

    def kind_logits(self, cue_repr: torch.Tensor) -> torch.Tensor:
        return self.kind_head(cue_repr)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, case_ids: torch.Tensor,
                sent_ids: torch.Tensor | None = None, labels: Mapping[str, torch.Tensor] | None = None,
                loss_weights: Mapping[str, float] | None = None) -> ClaimOutput:
        """Encode and tag a collated batch; with ``labels`` (the gold ``tags``, ``cues``,
        ``kinds``, ``cands`` and ``links`` of :func:`~claimcls.batching.collate`) also the
        loss (:func:`~claimcls.heads.loss`), weighted by ``loss_weights`` ``{"link", "kind"}``
        (1 each when omitted).
        Prediction goes on from the output with :func:`~claimcls.heads.decode`."""
        hidden, tag_logits = self.encode(input_ids, attention_mask, case_ids)
        if labels is None:
            return ClaimOutput(hidden, tag_logits)
        if sent_ids is None:
            raise ValueError("forward with labels needs sent_ids (the sentence of each token) for the link features")
        loss, parts = heads.loss(self, hidden, tag_logits, labels, sent_ids, loss_weights or {"link": 1.0, "kind": 1.0})
        return ClaimOutput(hidden, tag_logits, loss, parts)


def build_encoder(name: str, layers: int | None = None):
    """An encoder and its tokenizer for a new model.

    Args:
        name: ``default``, ``tiny``, a local Hugging Face folder or a hub name; any encoder
            family ``AutoModel`` reads (tested: BERT, RoBERTa, DeBERTa-v2/v3, ELECTRA, XLM-R,
            ModernBERT, MPNet) with a fast tokenizer.
        layers: keep only the lower ``layers`` transformer layers (``model.encoder_layers``);
            ``None`` keeps them all.

    Raises:
        ModelFolderError: the tokenizer is not a fast one (no character offsets).
        ConfigError: ``layers`` is not between 1 and the encoder's number of layers.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig

    if name == "tiny":  # random, small, for tests: the default tokenizer with a 2-layer encoder
        tokenizer = AutoTokenizer.from_pretrained(default_encoder_path(), local_files_only=True)
        cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=128, max_position_embeddings=512)
        encoder = encoder_from_config(cfg)
    else:
        path = encoder_path(name)
        local = Path(path).is_dir()  # a local folder never asks the hub (which would retry for ~50 s offline)
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local)
        if not getattr(tokenizer, "is_fast", False):
            raise ModelFolderError(f"encoder {name!r} has no fast tokenizer; claimcls needs character offsets from a fast tokenizer")
        cfg = AutoConfig.from_pretrained(path, local_files_only=local)
        encoder = AutoModel.from_pretrained(path, local_files_only=local, **_no_pooler(cfg))
    if layers is not None:
        keep_lower_layers(encoder, layers, name)
    return encoder, tokenizer


def encoder_from_config(config, pooler: bool = False) -> nn.Module:
    """A randomly initialised encoder of ``config`` (weights are loaded after); without the
    pooler claimcls never uses, unless ``pooler`` (folders saved before it was left out)."""
    from transformers import AutoModel

    return AutoModel.from_config(config, **({} if pooler else _no_pooler(config)))


def _no_pooler(config) -> dict:
    """``add_pooling_layer=False`` for the model classes that take it (BERT, RoBERTa, XLM-R,
    MPNet...): an unused pooler is dead weight and unused parameters in distributed training."""
    from transformers import MODEL_MAPPING

    try:
        cls = MODEL_MAPPING[type(config)]
    except KeyError:
        return {}
    return {"add_pooling_layer": False} if "add_pooling_layer" in inspect.signature(cls.__init__).parameters else {}


LAYER_LISTS = ("encoder.layer", "layers", "layer", "transformer.layer")  # BERT-like, ModernBERT, others
PER_LAYER_KEYS = ("layer_types",)  # encoder config lists with one entry per layer (ModernBERT: full or sliding attention)


def encoder_layer_list(encoder: nn.Module) -> nn.ModuleList:
    """The encoder's transformer layers, in order (``encoder.layer`` in BERT, RoBERTa, XLM-R,
    ELECTRA, DeBERTa and MPNet; ``layers`` in ModernBERT)."""
    total = encoder.config.num_hidden_layers
    for dotted in LAYER_LISTS:
        obj = encoder
        for part in dotted.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, nn.ModuleList) and len(obj) == total:
            return obj
    raise ModelFolderError(f"cannot find the {total} layers of the {type(encoder).__name__} encoder "
                           f"(looked for {', '.join(LAYER_LISTS)}); model.encoder_layers cannot cut it: leave it null")


def keep_lower_layers(encoder: nn.Module, n: int, name: str = "") -> None:
    """Keep the lower ``n`` transformer layers of ``encoder`` (in place), and say so in its
    config, so that the saved folder describes (and loads back as) the cut encoder."""
    layers = encoder_layer_list(encoder)
    total = len(layers)
    if not 1 <= n <= total:
        raise ConfigError(f"model.encoder_layers must be between 1 and {total} (the layers of encoder {name!r}), got {n}; "
                          "or null to keep them all")
    del layers[n:]
    cfg = encoder.config
    for key in PER_LAYER_KEYS:
        value = getattr(cfg, key, None)
        if isinstance(value, (list, tuple)) and len(value) == total:
            setattr(cfg, key, list(value[:n]))
    cfg.num_hidden_layers = n


def max_positions(encoder: nn.Module) -> int | None:
    """Tokens an encoder with a table of absolute positions can take; ``None`` for relative
    or rotary positions (DeBERTa-v3, ModernBERT). RoBERTa-style tables (RoBERTa, XLM-R, MPNet)
    start counting after the padding id, so 514 rows give 512 tokens."""
    emb = getattr(encoder, "embeddings", None)
    table = getattr(emb, "position_embeddings", None)
    if not isinstance(table, nn.Embedding):
        return None
    pad = getattr(emb, "padding_idx", None)
    return table.num_embeddings - (pad + 1 if isinstance(pad, int) else 0)
