"""Running the encoder and tagger in ONNX Runtime (``claimcls.load(DIR, backend="onnx")``);
the small span, link and kind heads stay in torch. ``export.py`` writes the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from .errors import ClaimclsError, ModelFolderError

ONNX_FILE = "model.onnx"
CHECK_FILE = "onnx_check.json"  # beside it: quantized or not, and its token-label agreement with fp32 torch


def read_check(folder: Path) -> dict | None:
    """``folder``'s ``onnx_check.json``, or ``None`` when there is none (or it is unreadable)."""
    try:
        return json.loads((folder / CHECK_FILE).read_text())
    except (OSError, ValueError):
        return None


def require_onnxruntime() -> None:
    """Raise a :class:`ClaimclsError` with the install command when onnxruntime is missing."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ClaimclsError("the ONNX backend needs onnxruntime: pip install 'claimcls[onnx]'") from None


class OnnxEncoder:
    """Runs the exported encoder + tagger in ONNX Runtime; returns torch tensors."""

    def __init__(self, model_dir: str | os.PathLike, threads: int | None = None):
        """``model_dir``: a model folder holding ``model.onnx``, or the ONNX file itself.
        ``threads``: ONNX Runtime's intra-op threads (default: torch's thread count)."""
        require_onnxruntime()
        import onnxruntime as ort

        path = Path(model_dir)
        if path.is_dir() or path.suffix != ".onnx":
            path = path / ONNX_FILE
        if not path.is_file():
            raise ModelFolderError(f"{path} is missing; create it with: claimcls export --onnx --model {model_dir}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or torch.get_num_threads()
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, case_ids: torch.Tensor):
        hidden, logits = self.session.run(None, {
            "input_ids": input_ids.numpy().astype(np.int64),
            "attention_mask": attention_mask.numpy().astype(np.int64),
            "case_ids": case_ids.numpy().astype(np.int64),
        })
        return torch.from_numpy(hidden), torch.from_numpy(logits)
