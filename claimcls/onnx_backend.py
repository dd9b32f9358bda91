"""The encoder and tagger in ONNX Runtime: running them (:class:`OnnxEncoder`, for
``claimcls.load(DIR, backend="onnx")`` and ``precision="int8"``; the small span, link and kind
heads stay in torch) and making the file (:func:`write_onnx`: export, int8 quantization, the
check against fp32; :func:`int8_onnx`: once per weights into ``$CLAIMCLS_CACHE/onnx``).
``export.py`` is ``claimcls export --onnx``, which writes the file into a model folder."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .batching import special_ids
from .device import cpu_has_native_bf16, label_agreement
from .encoders import cache_dir
from .errors import ClaimclsError, ModelFolderError

logger = logging.getLogger(__name__)
EXPORT_FORMAT = 1  # part of the cache key: bump when the exported graph or its quantization changes

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


class _EncoderGraph(torch.nn.Module):
    """The part that is exported: encoder and tagger, three tensors in, two out."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, input_ids, attention_mask, case_ids):
        return self.module.encode(input_ids, attention_mask, case_ids)


def write_onnx(model, folder: str | os.PathLike, check_texts: Sequence[str], quantize: bool = True,
               per_channel: bool = True) -> Path:
    """Export ``model`` (an :class:`~claimcls.inference.AttributionModel` on the CPU)'s
    encoder and tagger to ``folder/model.onnx``, compare its token labels with fp32 torch on
    ``check_texts`` and write ``folder/onnx_check.json``. The ONNX file appears whole or not
    at all (written beside and renamed), so that processes sharing a cache never read half
    of one. Returns its path."""
    require_onnxruntime()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    module = model.module
    dtype, old_onnx = model.dtype, model.onnx
    model._use(torch.float32)
    try:
        # eval() on the wrapper too: the exporter restores the mode it found, and a new module
        # starts in training mode, which would leave dropout on in the model it wraps
        graph = _EncoderGraph(module).eval()
        first, last, _ = special_ids(model.tokenizer)
        n = len(model.tokenizer)  # two ordinary ids within any vocabulary
        ids = torch.tensor([[first, 1000 % n, 2000 % n, last]] * 2)
        args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
        out = folder / ONNX_FILE
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            raw = Path(tmp) / "fp32.onnx"
            torch.onnx.export(
                graph, args, str(raw), input_names=["input_ids", "attention_mask", "case_ids"],
                output_names=["hidden", "tag_logits"], opset_version=17, dynamo=False,
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "case_ids", "hidden", "tag_logits")},
            )
            done = Path(tmp) / ONNX_FILE
            if quantize:
                import onnx
                from onnxruntime.quantization import QuantType, quantize_dynamic

                # the tagger's few outputs decide the labels directly: it stays fp32
                keep = [n.name for n in onnx.load(str(raw)).graph.node if n.op_type in ("MatMul", "Gemm") and "tagger" in n.name]
                quantize_dynamic(str(raw), str(done), weight_type=QuantType.QInt8, per_channel=per_channel, nodes_to_exclude=keep)
            else:
                raw.rename(done)
            seconds, ref = _timed(lambda: model.token_labels(check_texts))
            timing = {"fp32": seconds}
            model.onnx = OnnxEncoder(done)
            timing["int8" if quantize else "onnx-fp32"], labels = _timed(lambda: model.token_labels(check_texts))
            agreement = label_agreement(ref, labels)
            if cpu_has_native_bf16():  # the path int8 competes with in "auto"
                model._use(torch.bfloat16)
                timing["bf16"] = _timed(lambda: model.token_labels(check_texts))[0]
                model._use(torch.float32)
            os.replace(done, out)
        (folder / CHECK_FILE).write_text(json.dumps({"quantized": quantize, "token_label_agreement_with_fp32": agreement,
                                                     "texts": len(check_texts), "seconds": timing}, indent=2) + "\n")
    finally:
        model._use(dtype)
        model.onnx = old_onnx
    if agreement < 0.99:
        logger.warning("the ONNX model agrees with fp32 torch on only %.2f%% of token labels", 100 * agreement)
    return out


def _timed(run):
    """Seconds of the second of two calls of ``run`` (the first pays for kernel choice and
    allocation), and its result."""
    run()
    t0 = time.perf_counter()
    out = run()
    return time.perf_counter() - t0, out


def weights_key(module: torch.nn.Module) -> str:
    """A hash of ``module``'s weights (names, shapes and fp32 values) and of what shapes the
    export (its format, the onnxruntime version): the int8 cache's folder name."""
    import onnxruntime

    h = hashlib.blake2b(digest_size=16)
    h.update(f"claimcls-onnx-{EXPORT_FORMAT}-ort-{onnxruntime.__version__}".encode())
    for name, tensor in module.state_dict().items():
        h.update(f"{name}{tuple(tensor.shape)}".encode())
        h.update(tensor.detach().float().contiguous().numpy().tobytes())
    return h.hexdigest()


def int8_onnx(model, folder: str | os.PathLike | None, check_texts: Sequence[str]) -> tuple[Path, dict]:
    """The int8 ONNX file of ``model`` and its check (``onnx_check.json``: token-label
    agreement with fp32 and seconds per path on ``check_texts``, measured when it was
    written): ``folder``'s own ``model.onnx`` when it is an int8 export, else the cached one,
    exported now if there is none yet."""
    require_onnxruntime()
    if folder is not None:
        check = read_check(Path(folder))
        if check is not None and check.get("quantized") and (Path(folder) / ONNX_FILE).is_file():
            return Path(folder) / ONNX_FILE, check
    cached = cache_dir() / "onnx" / weights_key(model.module)
    check = read_check(cached)
    if check is None or not (cached / ONNX_FILE).is_file():
        logger.info("exporting the int8 encoder once, into %s (about 30 s for the default model)", cached)
        write_onnx(model, cached, check_texts)
        check = read_check(cached)
    return cached / ONNX_FILE, check
