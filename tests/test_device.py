"""Prediction and training run where and in the precision they were asked to, never
silently on the CPU or in fp32 instead. The CUDA cases run on a machine with a GPU
(scripts/gpu_check.sh runs this file there) and skip elsewhere."""

import pytest
import torch

import claimcls
from claimcls.config import load_config
from claimcls.device import resolve_device
from claimcls.modeling import ClaimModel
from claimcls.training import Trainer
from conftest import ROOT

HAS_CUDA = torch.cuda.is_available()
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")])]


def test_cuda_without_a_gpu_is_an_error_not_a_cpu_run(monkeypatch, tiny_model_dir):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for device in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match="no CUDA device is available; use device='cpu'"):
            resolve_device(device)
        with pytest.raises(ValueError, match="no CUDA device is available"):
            claimcls.load(tiny_model_dir, device=device, precision="fp32")
    assert resolve_device("auto").type == "cpu"  # only "auto" may choose the CPU


def test_the_cpu_only_onnx_backend_refuses_another_device(tiny_model_dir):
    with pytest.raises(ValueError, match="backend='onnx' runs on the CPU, got device='cuda'"):
        claimcls.load(tiny_model_dir, device="cuda", backend="onnx")


def test_fp16_training_without_a_gpu_is_an_error_not_fp32(monkeypatch, tmp_path):
    if HAS_CUDA:
        pytest.skip("the accelerator picks the GPU here")
    config = load_config(ROOT / "configs" / "tiny.yaml", {"train.mixed_precision": "fp16"})
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        Trainer(config, tmp_path / "m")


@pytest.mark.parametrize("device", DEVICES)
def test_bf16_prediction_runs_the_encoder_in_bf16_on_the_device(device, tiny_model_dir):
    model = claimcls.load(tiny_model_dir, device=device, precision="bf16")
    assert model.precision == "bf16" and model.device.type == device
    params = list(model.module.parameters())
    assert {p.dtype for p in params} == {torch.bfloat16} and {p.device.type for p in params} == {device}
    seen = []
    hook = model.module.encoder.register_forward_hook(
        lambda mod, args, out: seen.append((out.last_hidden_state.dtype, out.last_hidden_state.device.type)))
    try:
        docs = model.predict(["Ana Ruiz said the bridge would reopen on Monday.", "It rained."])
    finally:
        hook.remove()
    assert len(docs) == 2 and seen and set(seen) == {(torch.bfloat16, device)}


@pytest.mark.parametrize("device", DEVICES)
def test_training_steps_run_on_the_device_under_bf16_autocast(device, monkeypatch, tmp_path):
    """In each training step the encoder's matrix products give bf16 (autocast; its layer
    norms stay fp32, so the check is on a linear layer) on the accelerator's device."""
    if device == "cpu" and HAS_CUDA:
        pytest.skip("the accelerator picks the GPU here")
    seen = []
    real_encode = ClaimModel.encode

    def encode(self, *args):
        if not torch.is_grad_enabled():  # the dev evaluation, not a training step
            return real_encode(self, *args)
        linear = next(m for m in self.encoder.modules() if isinstance(m, torch.nn.Linear))
        hook = linear.register_forward_hook(lambda mod, a, out: seen.append((out.dtype, out.device.type)))
        try:
            return real_encode(self, *args)
        finally:
            hook.remove()

    monkeypatch.setattr(ClaimModel, "encode", encode)
    config = load_config(ROOT / "configs" / "tiny.yaml", {"train.epochs": "1", "data.max_train_docs": "2",
                                                          "train.mixed_precision": "bf16"})
    trainer = Trainer(config, tmp_path / "m")
    assert trainer.accelerator.device.type == device and trainer.amp_dtype == torch.bfloat16
    trainer.train()
    assert seen and set(seen) == {(torch.bfloat16, device)}
