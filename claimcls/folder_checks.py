"""Checks of a model folder: is it complete, readable and sound?

A broken model folder must fail with one line naming the broken file, never load and answer
"no attributions" for every document. The checks here are plain functions so that saving,
loading and the command line can share them:

- :func:`check_weights`: every tensor finite and of a plausible size (a diverged training
  run, ``train.lr nan``, or bytes damaged on disk);
- :func:`check_safetensors_file`: the file's header and length agree (a truncated copy);
- :func:`check_tokenizer`: the tokenizer has the vocabulary its encoder was trained with (a
  folder missing its tokenizer files loads a 5-token vocabulary without complaint);
- :func:`check_model_folder`: all of the above on a folder, before any work is done (and
  the score calibration, ``calibration.json``, when there is one).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ClaimclsError, ModelFolderError

# no trained transformer weight we know of comes near this (all-MiniLM-L6-v2 fine-tuned by
# claimcls: 7.9); random bytes read as float32 exceed it almost half the time
MAX_ABS_WEIGHT = 1e4
REQUIRED = ("config.json", "model.safetensors", "encoder/config.json")
# a fast tokenizer's own file, or the files a slow one is rebuilt from
TOKENIZER_FILES = (("tokenizer.json",), ("vocab.txt",), ("vocab.json", "merges.txt"), ("spiece.model",),
                   ("sentencepiece.bpe.model",))
_SAFETENSORS_DTYPES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
                       "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


def check_weights(state_dict: Mapping[str, Any], path: str | os.PathLike, *, saving: bool = False) -> None:
    """Raise :class:`ModelFolderError` if a floating-point tensor holds NaN, inf, or a value
    larger than :data:`MAX_ABS_WEIGHT`.

    Args:
        state_dict: tensor name -> tensor (torch).
        path: the file the weights come from or go to, named in the message.
        saving: word the message for a save (nothing is written) instead of a load.
    """
    import torch

    for name, tensor in state_dict.items():
        if not torch.is_tensor(tensor) or not tensor.is_floating_point() or tensor.numel() == 0:
            continue
        t = tensor.detach()
        finite = torch.isfinite(t)
        bad = int((~finite).sum())
        if bad:
            what = f"tensor {name!r} holds {bad} NaN or infinite values"
        else:
            biggest = float(t.abs().max())
            if biggest <= MAX_ABS_WEIGHT:
                continue
            what = f"tensor {name!r} holds a value of {biggest:.3g}, beyond any trained weight"
        if saving:
            raise ModelFolderError(
                f"refusing to save {path}: {what}; training diverged (check train.lr, train.head_lr and the "
                "loss in the log) and nothing was written"
            )
        raise ModelFolderError(
            f"{path}: {what}; the file is damaged or the training that wrote it diverged: copy the folder again "
            "or retrain"
        )


def check_safetensors_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a safetensors file's header and check that the file is exactly as long as the
    header says (a truncated or extended copy fails). Returns the header."""
    path = Path(path)
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError(f"it is {size} bytes long, too short for a header")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise ValueError(f"its header claims {n} bytes but the file has {size}")
            header = json.loads(f.read(n).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
        data = size - 8 - n
        end = 0
        for name, info in header.items():
            if name == "__metadata__":
                continue
            start, stop = info["data_offsets"]
            width = _SAFETENSORS_DTYPES.get(info["dtype"])
            count = 1
            for d in info["shape"]:
                count *= int(d)
            if width is None or stop - start != count * width:
                raise ValueError(f"tensor {name!r} has a malformed entry")
            end = max(end, stop)
        if end != data:
            raise ValueError(f"its header describes {end} bytes of tensors but the file holds {data}: "
                             f"it is {'truncated' if end > data else 'longer than written'}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFolderError(f"{path}: not a complete safetensors file: its header is not valid JSON; "
                               "copy the model folder again") from None
    except (ValueError, KeyError, TypeError, struct.error) as err:
        msg = err.args[0] if type(err) is ValueError else f"malformed header ({type(err).__name__}: {err})"
        raise ModelFolderError(f"{path}: not a complete safetensors file: {msg}; copy the model folder again") from None
    except OSError as err:
        raise ModelFolderError(f"{path}: cannot read it ({err.strerror})") from None
    return header


def check_tokenizer(tokenizer, encoder_config, path: str | os.PathLike) -> None:
    """Raise :class:`ModelFolderError` unless the tokenizer's vocabulary fits the encoder's
    embedding table: no id beyond it, and not a small fraction of it (the signature of a
    tokenizer rebuilt from missing files)."""
    vocab = int(getattr(encoder_config, "vocab_size", 0) or 0)
    n = len(tokenizer)
    if vocab and (n > vocab or n < vocab // 2):
        raise ModelFolderError(
            f"{path}: the tokenizer has {n} tokens but the encoder was trained with {vocab}: its tokenizer files "
            "are missing or belong to another encoder; save the model again or copy its encoder/ folder whole"
        )


def weights_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a weights file, to be stored in config.json as ``weights_sha256`` on save
    and compared on load (catches damaged bytes that still read as plausible numbers)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFolderError(f"{path}: not valid JSON ({getattr(err, 'msg', err)}); {what}") from None
    except OSError as err:
        raise ModelFolderError(f"{path}: cannot read it ({err.strerror})") from None


def check_model_folder(path: str | os.PathLike, *, weights: bool = True, tokenizer: bool = True) -> None:
    """Check a model folder before it is loaded: every file present, readable and sound.

    Args:
        path: the folder written by training or ``AttributionModel.save``.
        weights: also read the weights and check them (about a second for MiniLM).
        tokenizer: also load the tokenizer and compare its vocabulary with the encoder's.

    Raises:
        ModelFolderError: naming the broken file and what to do.
    """
    from .config import config_from_dict

    path = Path(path)
    if not path.is_dir():
        raise ModelFolderError(f"model folder {str(path)!r} does not exist or is not a folder; train one with "
                               "`claimcls train` or pass the right path")
    for name in REQUIRED:
        if not (path / name).is_file():
            raise ModelFolderError(f"model folder {path} is incomplete: {name} is missing; copy the folder again or retrain")
    meta = _read_json(path / "config.json", "the model folder is damaged; copy it again")
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        got = type(meta).__name__ if not isinstance(meta, dict) else f"keys {sorted(meta)}"
        raise ModelFolderError(f"{path / 'config.json'}: expected claimcls's model description (an object with "
                               f"\"config\", \"labels\", \"format_version\"), got {got}; this is not a claimcls model folder")
    try:
        config_from_dict(meta["config"])
    except ClaimclsError as err:
        raise ModelFolderError(f"{path / 'config.json'}: its config is invalid: {err}") from None
    enc = _read_json(path / "encoder" / "config.json", "copy the model's encoder/ folder again")
    if not isinstance(enc, dict) or not isinstance(enc.get("vocab_size"), int) or "model_type" not in enc:
        raise ModelFolderError(f"{path / 'encoder' / 'config.json'}: expected a Hugging Face encoder config with "
                               "\"model_type\" and \"vocab_size\"; copy the model's encoder/ folder again")
    if not any(all((path / "encoder" / f).is_file() for f in group) for group in TOKENIZER_FILES):
        raise ModelFolderError(f"{path / 'encoder'}: no tokenizer files (tokenizer.json or vocab.txt); the folder is "
                               "incomplete: copy it again or save the model again")
    if (path / "metrics.json").exists():
        _read_json(path / "metrics.json", "delete it or copy the folder again (it only records dev scores)")
    from .calibration import read_calibration

    read_calibration(path)
    check_safetensors_file(path / "model.safetensors")
    if meta.get("weights_sha256") and weights_digest(path / "model.safetensors") != meta["weights_sha256"]:
        raise ModelFolderError(f"{path / 'model.safetensors'}: its bytes differ from those saved (SHA-256 mismatch); "
                               "the file is damaged: copy the folder again")
    if weights:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            state = load_file(str(path / "model.safetensors"))
        except (SafetensorError, OSError) as err:
            raise ModelFolderError(f"{path / 'model.safetensors'}: cannot be read ({err}); copy the folder again") from None
        check_weights(state, path / "model.safetensors")
    if tokenizer:
        from transformers import AutoConfig, AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
            enc_cfg = AutoConfig.from_pretrained(path / "encoder", trust_remote_code=False, local_files_only=True)
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelFolderError(f"{path / 'encoder'}: the tokenizer or encoder config cannot be loaded "
                                   f"({str(err).splitlines()[0] if str(err) else type(err).__name__}); copy the folder again") from None
        check_tokenizer(tok, enc_cfg, path / "encoder")
