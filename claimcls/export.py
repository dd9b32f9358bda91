"""ONNX export of the encoder and tagger, with int8 dynamic quantization: the ``int8``
precision on CPUs.

- ``claimcls export --onnx --model DIR`` writes ``DIR/model.onnx`` (int8 weights) and
  ``DIR/onnx_check.json`` (its token-label agreement with the fp32 torch model).
  ``claimcls.load(DIR, backend="onnx")`` then runs the encoder in ONNX Runtime
  (``onnx_backend.py``); the small linking and kind heads stay in torch.
- ``precision="int8"`` (and ``"auto"`` on a CPU with VNNI or AMX, see ``device.py``) uses the
  folder's ``model.onnx`` when it has an int8 one, else exports once into the cache
  (``$CLAIMCLS_CACHE/onnx/<hash of the weights>/``, about 30 s for the mpnet-6 default) and
  reads it from there afterwards (``onnx_backend.int8_onnx``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .inference import calibration_texts, load
from .onnx_backend import require_onnxruntime, write_onnx


def export_onnx(model_dir: str | os.PathLike, quantize: bool = True, check_texts: list[str] | None = None,
                per_channel: bool = True) -> Path:
    """Export ``model_dir``'s encoder and tagger to ``model_dir/model.onnx``.

    Args:
        model_dir: a model folder.
        quantize: int8 dynamic quantization of the weights (default) or plain fp32.
        per_channel: one int8 scale per output channel of each weight (default) rather than
            one per matrix.
        check_texts: texts on which to compare labels with fp32 torch (default: the shipped
            calibration text). The agreement is written to ``onnx_check.json``.

    Returns:
        The path of the ONNX file.
    """
    require_onnxruntime()
    model_dir = Path(model_dir)
    model = load(model_dir, device="cpu", precision="fp32")
    texts = calibration_texts() if check_texts is None else check_texts
    return write_onnx(model, model_dir, texts, quantize=quantize, per_channel=per_channel)


