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

This module does no file I/O beyond :meth:`ClaimModel.save_weights` / loading, and never
trains (see ``training.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .encoding import N_CASE
from .schema import KINDS, ROLES

LINK_ROLES = ("source", "content", "target")
N_DIST = 24
MAX_SENT_DIST = 3  # sentences between a cue and a candidate, clamped to ±3


def distance_bucket(delta: torch.Tensor) -> torch.Tensor:
    """Bucket signed token distances: exact up to ±4, then log-spaced, 24 buckets."""
    sign = (delta >= 0).long()
    mag = delta.abs().float()
    bucket = torch.where(mag < 4, mag, 4 + torch.log2(mag.clamp(min=1) / 4).floor() * 1.0).clamp(max=11).long()
    return sign * 12 + bucket


class ClaimModel(nn.Module):
    """Encoder + tagger + linker + kind classifier (see the module docstring)."""

    def __init__(self, config: ModelConfig, encoder: nn.Module):
        super().__init__()
        self.config = config
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.case_embedding = nn.Embedding(2 * N_CASE, hidden)
        nn.init.zeros_(self.case_embedding.weight)
        self.dropout = nn.Dropout(config.dropout)
        self.tagger = nn.Linear(hidden, len(ROLES) * 3)
        d = config.span_dim
        self.span_proj = nn.Sequential(nn.Linear(3 * hidden, d), nn.GELU(), nn.LayerNorm(d))
        self.dist_embedding = nn.Embedding(N_DIST, 32)
        self.sent_dist_embedding = nn.Embedding(2 * MAX_SENT_DIST + 1, 16)
        self.linker = nn.Sequential(
            nn.Linear(3 * d + 48, d), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(d, len(LINK_ROLES))
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
        b, a, e = spans[:, 0], spans[:, 1], spans[:, 2]
        if csum is None:
            csum = self.span_sums(hidden)
        mean = (csum[b, e] - csum[b, a]) / (e - a).clamp(min=1).unsqueeze(-1).float()
        feats = torch.cat([hidden[b, a], hidden[b, e - 1], mean.to(hidden.dtype)], dim=-1)
        return self.span_proj(self.dropout(feats))

    def link_logits(self, cue_repr: torch.Tensor, cand_repr: torch.Tensor, delta: torch.Tensor, roles: torch.Tensor,
                    sent_delta: torch.Tensor) -> torch.Tensor:
        """One logit per pair: cue ``i`` with candidate ``j`` of role ``roles`` (index into
        :data:`LINK_ROLES`); ``delta`` = candidate start minus cue start in tokens,
        ``sent_delta`` the same in sentences."""
        sent = self.sent_dist_embedding(sent_delta.clamp(-MAX_SENT_DIST, MAX_SENT_DIST) + MAX_SENT_DIST)
        feats = torch.cat([cue_repr, cand_repr, cue_repr * cand_repr, self.dist_embedding(distance_bucket(delta)), sent], dim=-1)
        out = self.linker(feats)
        return out.gather(1, roles.unsqueeze(1)).squeeze(1)

    def null_logits(self, cue_repr: torch.Tensor) -> torch.Tensor:
        """Per cue, the logit of having no span of each link role ``(N, 3)``."""
        return self.null_head(cue_repr)

    def kind_logits(self, cue_repr: torch.Tensor) -> torch.Tensor:
        return self.kind_head(cue_repr)

    def forward(self, input_ids, attention_mask, case_ids):  # used by ONNX export and the trainer
        return self.encode(input_ids, attention_mask, case_ids)
