"""The model folder format: what :meth:`AttributionModel.save` writes and :func:`load` reads.

A folder is complete and safe to load (never unpickled, never remote code):

- ``config.json``: format version, library version, encoder name, label maps, and the
  resolved config, whose ``decode`` section says how predictions are decoded;
- ``model.safetensors``: every weight, in fp32;
- ``encoder/``: the encoder's Hugging Face config and tokenizer;
- ``metrics.json`` (dev scores) and, from training, ``training.json``;
- optionally ``calibration.json``: the map from raw score to probability of being right
  (``calibration.py``); without it, scores are the raw ones;
- optionally ``model.onnx`` and ``onnx_check.json`` (``claimcls export --onnx``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .atomic import atomic_dir, write_atomic
from .calibration import Calibrator, read_calibration, write_calibration
from .config import Config, config_from_dict
from .errors import ModelFolderError
from .folder_checks import (
    check_model_folder,
    check_safetensors_file,
    check_tokenizer,
    check_weights,
)
from .heads import LINK_ROLES
from .modeling import ClaimModel, encoder_from_config
from .schema import KINDS, ROLES
from .version import __version__

FORMAT_VERSION = 1
LABELS = {"roles": list(ROLES), "tags": ["O", "B", "I"], "kinds": list(KINDS), "link_roles": list(LINK_ROLES)}


@dataclass
class Folder:
    """What a model folder holds, loaded."""

    config: Config
    module: ClaimModel
    tokenizer: Any
    encoder_name: str
    metrics: dict[str, Any]
    calibration: Calibrator | None = None


def write_folder(path: str | os.PathLike, module: ClaimModel, tokenizer, config: Config, encoder_name: str,
                 metrics: Mapping[str, Any], training: Mapping[str, Any] | None = None,
                 calibration: Calibrator | None = None) -> Path:
    """Write a complete model folder (see the module docstring); returns its path."""
    path = Path(path)
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in module.state_dict().items()}
    check_weights(state, path / "model.safetensors", saving=True)
    # written aside and renamed into place: a failed save leaves the old folder whole
    with atomic_dir(path, keep=("checkpoint",)) as tmp:
        _write_files(tmp, state, module, tokenizer, config, encoder_name, metrics, training)
        if calibration is not None:
            write_calibration(tmp, calibration)
    return path


def _write_files(path: Path, state, module, tokenizer, config, encoder_name, metrics, training) -> None:
    from safetensors.torch import save

    (path / "encoder").mkdir(parents=True, exist_ok=True)
    write_atomic(path / "model.safetensors", save(state, metadata={"format": "pt"}))
    module.encoder.config.save_pretrained(path / "encoder")
    tokenizer.save_pretrained(path / "encoder")
    meta = {
        "format_version": FORMAT_VERSION,
        "claimcls_version": __version__,
        "encoder": encoder_name,
        "labels": LABELS,
        "config": config.to_dict(),
    }
    _write_json(path / "config.json", meta)
    _write_json(path / "metrics.json", dict(metrics))
    if training is not None:
        _write_json(path / "training.json", dict(training))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_folder(path: str | os.PathLike) -> Folder:
    """Read a folder written by :func:`write_folder`; older folders without a ``decode``
    section (or without its ``tag_decoder``) decode as they did when they were saved.

    Raises:
        ModelFolderError: a missing, damaged or mismatched file, naming it.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoTokenizer

    path = Path(path)
    check_model_folder(path, weights=False, tokenizer=False)
    check_safetensors_file(path / "model.safetensors")
    try:
        meta = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelFolderError(f"{path / 'config.json'} is not valid JSON ({err.msg}); the folder is damaged") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFolderError(f"{path} has format version {meta.get('format_version')!r}; this claimcls reads {FORMAT_VERSION}")
    if meta.get("labels") != LABELS:
        raise ModelFolderError(f"{path / 'config.json'}: its label maps {meta.get('labels')} differ from this claimcls's {LABELS}")
    saved = dict(meta["config"])
    # folders written before decode.tag_decoder existed were decoded token by token
    saved["decode"] = {"tag_decoder": "argmax", **(saved.get("decode") or {})}
    config = config_from_dict(saved)
    enc_cfg = AutoConfig.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
    state = load_file(str(path / "model.safetensors"))
    # folders saved before the unused pooler was left out (all but BERT's) still carry one
    pooler = any(k.startswith("encoder.pooler.") for k in state)
    module = ClaimModel(config.model, encoder_from_config(enc_cfg, pooler=pooler))
    check_weights(state, path / "model.safetensors")
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shapes differ
        first = str(err).split("\n\t")[1] if "\n\t" in str(err) else str(err)
        raise ModelFolderError(f"{path / 'model.safetensors'} does not match the model in config.json: {first}") from None
    if missing or unexpected:
        raise ModelFolderError(
            f"{path / 'model.safetensors'} does not match the model in config.json: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelFolderError(f"{path / 'encoder'}: the tokenizer cannot be loaded ({err}); save the model again") from None
    check_tokenizer(tokenizer, enc_cfg, path / "encoder")
    metrics = {}
    if (path / "metrics.json").is_file():
        metrics = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
    return Folder(config, module, tokenizer, meta.get("encoder", ""), metrics, read_calibration(path))
