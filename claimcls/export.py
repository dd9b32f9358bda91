"""ONNX export of the encoder and tagger, with int8 dynamic quantization, for CPUs without
native bf16.

``claimcls export --onnx --model DIR`` writes ``DIR/model.onnx`` (int8 weights) and
``DIR/onnx_check.json`` (its token-label agreement with the fp32 torch model).
``claimcls.load(DIR, backend="onnx")`` then runs the encoder in ONNX Runtime
(``onnx_backend.py``); the small linking and kind heads stay in torch.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import torch

from .batching import special_ids
from .device import label_agreement
from .inference import calibration_texts, load
from .onnx_backend import ONNX_FILE, require_onnxruntime

logger = logging.getLogger(__name__)


class _EncoderGraph(torch.nn.Module):
    """The part that is exported: encoder and tagger, three tensors in, two out."""

    def __init__(self, module: torch.nn.Module):
        super().__init__()
        self.module = module

    def forward(self, input_ids, attention_mask, case_ids):
        return self.module.encode(input_ids, attention_mask, case_ids)


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
    # eval() on the wrapper too: the exporter restores the mode it found, and a new module
    # starts in training mode, which would leave dropout on in the model it wraps
    module = _EncoderGraph(model.module.float()).eval()
    first, last, _ = special_ids(model.tokenizer)
    n = len(model.tokenizer)  # two ordinary ids within any vocabulary
    ids = torch.tensor([[first, 1000 % n, 2000 % n, last]] * 2)
    args = (ids, torch.ones_like(ids), torch.zeros_like(ids))
    out = model_dir / ONNX_FILE
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            module, args, str(raw), input_names=["input_ids", "attention_mask", "case_ids"],
            output_names=["hidden", "tag_logits"], opset_version=17, dynamo=False,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in ("input_ids", "attention_mask", "case_ids", "hidden", "tag_logits")},
        )
        if quantize:
            import onnx
            from onnxruntime.quantization import QuantType, quantize_dynamic

            # the tagger's few outputs decide the labels directly: it stays fp32
            keep = [n.name for n in onnx.load(str(raw)).graph.node if n.op_type in ("MatMul", "Gemm") and "tagger" in n.name]
            quantize_dynamic(str(raw), str(out), weight_type=QuantType.QInt8, per_channel=per_channel, nodes_to_exclude=keep)
        else:
            out.write_bytes(raw.read_bytes())
    if check_texts is None:
        check_texts = calibration_texts()
    ref = model.token_labels(check_texts)
    onnx_model = load(model_dir, device="cpu", backend="onnx")
    agreement = label_agreement(ref, onnx_model.token_labels(check_texts))
    (model_dir / "onnx_check.json").write_text(json.dumps({"quantized": quantize, "token_label_agreement_with_fp32": agreement,
                                                           "texts": len(check_texts)}, indent=2) + "\n")
    if agreement < 0.99:
        logger.warning("the ONNX model agrees with fp32 torch on only %.2f%% of token labels", 100 * agreement)
    return out
