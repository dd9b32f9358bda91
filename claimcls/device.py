"""Where the model runs and in which precision: one chooser for training and prediction.

``"auto"`` precision means bf16 on a GPU that has it (else fp16), bf16 on a CPU that
multiplies bf16 natively (AMX or AVX512-BF16), and fp32 elsewhere. Prediction additionally
checks the reduced precision against fp32 on a small shipped text (see
:meth:`claimcls.inference.AttributionModel.set_precision`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
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


def cpu_has_native_bf16() -> bool:
    """Whether this CPU multiplies bf16 natively (AMX or AVX512-BF16)."""
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # pragma: no cover - private probes may change
            pass
    return False


def choose_precision(precision: str, device: torch.device) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for ``precision`` on ``device``; ``auto`` takes the
    fastest reduced precision the device runs natively (bf16 autocast trained 3.4x faster
    than fp32 on this project's 2-core AVX512-BF16 CPU).

    Raises:
        ValueError: an unknown precision, or fp16 without a CUDA device.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 needs a CUDA device; on a CPU use precision='bf16' or 'fp32'")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_native_bf16() else "fp32"


def precision_name(dtype: torch.dtype) -> str:
    """``"fp32"``, ``"bf16"`` or ``"fp16"`` for a torch dtype."""
    return next(name for name, dt in DTYPES.items() if dt == dtype)


def label_agreement(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> float:
    """Share of labels on which ``other`` equals ``reference`` (arrays in the same order),
    for comparing precisions and backends."""
    same = sum(int((a == b).sum()) for a, b in zip(reference, other))
    return same / max(sum(a.size for a in reference), 1)
