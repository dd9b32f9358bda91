"""Where the model runs and in which precision: one chooser for training and prediction.

Precisions: ``fp32``, ``bf16`` (weights and activations, torch), ``fp16`` (GPU only) and
``int8`` (CPU only: the encoder and tagger run in ONNX Runtime with int8 weights, see
``export.py``; the small linking and kind heads stay in torch, fp32).

``"auto"`` precision means bf16 on a GPU that has it (else fp16); on a CPU, the fastest
path it runs natively, in order: int8 (when ONNX Runtime is installed and the CPU has int8
dot-product instructions, VNNI or AMX), bf16 (AMX or AVX512-BF16), fp32. Prediction keeps a
reduced path only if its token labels agree with fp32 on a small shipped text (at least 99%),
else it tries the next (see :meth:`claimcls.inference.AttributionModel.set_precision`).
Measured on a 2-core AMD EPYC (AVX512-BF16 and VNNI, no AMX) with the mpnet-6 default:
fp32 42.5, bf16 92.8, int8 124.2 sentences/s.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first CUDA device if there is one, else the CPU."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but no CUDA device is available; use device='cpu'")
    return dev


def _cpu_probe(*names: str) -> bool:
    """Whether any of torch's private CPU probes ``torch.cpu.<name>()`` says yes."""
    for probe in names:
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # pragma: no cover - private probes may change
            pass
    return False


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    return _cpu_probe("_is_amx_tile_supported", "_is_avx512_bf16_supported")


def cpu_has_int8_dot() -> bool:
    """Whether this CPU has int8 dot-product instructions (VNNI or AMX), which ONNX Runtime's
    int8 matrix products use."""
    return _cpu_probe("_is_amx_tile_supported", "_is_vnni_supported")


def has_onnxruntime() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def precision_candidates(precision: str, device: torch.device) -> list[str]:
    """The precisions to try for ``precision`` on ``device``, fastest first, ending with
    ``fp32`` (a single one unless ``auto``). ``auto``: see the module docstring.

    Raises:
        ValueError: an unknown precision, fp16 without a CUDA device, or int8 on a GPU.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 needs a CUDA device; on a CPU use precision='bf16', 'int8' or 'fp32'")
    if precision == "int8" and device.type != "cpu":
        raise ValueError("int8 runs on the CPU (ONNX Runtime); on a GPU use precision='bf16' or 'fp16'")
    if precision != "auto":
        return [precision]
    if device.type == "cuda":
        return ["bf16" if torch.cuda.is_bf16_supported() else "fp16", "fp32"]
    out = []
    if cpu_has_int8_dot() and has_onnxruntime():
        out.append("int8")
    if cpu_has_native_bf16():
        out.append("bf16")
    return out + ["fp32"]


def choose_precision(precision: str, device: torch.device, *, torch_only: bool = False) -> str:
    """The first of :func:`precision_candidates`: what ``precision`` means on ``device``
    before any agreement check; ``torch_only`` leaves out int8 (ONNX Runtime), for training
    (bf16 autocast trained 3.4x faster than fp32 on this project's 2-core AVX512-BF16 CPU)."""
    return next(p for p in precision_candidates(precision, device) if not (torch_only and p == "int8"))


def precision_name(dtype: torch.dtype) -> str:
    """``"fp32"``, ``"bf16"`` or ``"fp16"`` for a torch dtype."""
    return next(name for name, dt in DTYPES.items() if dt == dtype)


def label_agreement(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> float:
    """Share of labels on which ``other`` equals ``reference`` (arrays in the same order),
    for comparing precisions and backends."""
    same = sum(int((a == b).sum()) for a, b in zip(reference, other))
    return same / max(sum(a.size for a in reference), 1)
