"""The int8 path: the encoder in ONNX Runtime with int8 weights, exported once per weights
into the cache, chosen by ``precision="auto"`` on CPUs with int8 dot products (VNNI, AMX)
only where it agrees with fp32, never for training and never on a GPU."""

import json
import shutil

import pytest
import torch

import claimcls
import claimcls.device
import claimcls.onnx_backend
import claimcls.inference
from claimcls.device import choose_precision, label_agreement, precision_candidates

pytest.importorskip("onnxruntime")
CPU = torch.device("cpu")


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMCLS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def test_int8_is_exported_once_per_weights_and_read_from_the_cache(tiny_model_dir, tmp_path, cache, bundled, monkeypatch):
    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    texts = [d.text for d in bundled[:4]]
    model = claimcls.load(folder, device="cpu", precision="int8")
    assert model.precision == "int8" and model.onnx is not None
    (entry,) = list(cache.iterdir())  # one export, named by the weights' hash
    assert sorted(p.name for p in entry.iterdir()) == ["model.onnx", "onnx_check.json"]
    check = json.loads((entry / "onnx_check.json").read_text())
    assert check["quantized"] is True and 0 < check["token_label_agreement_with_fp32"] <= 1
    assert {"fp32", "int8"} <= set(check["seconds"]) and all(t > 0 for t in check["seconds"].values())
    assert not (folder / "model.onnx").exists()  # the user's folder is left as it was
    # what it predicts is the int8 encoder's, and close to fp32's
    fp32 = claimcls.load(folder, device="cpu", precision="fp32")
    agreement = label_agreement(fp32.token_labels(texts), model.token_labels(texts))
    assert agreement >= 0.95
    assert [len(d.sentences) for d in model.predict(texts)] == [len(d.sentences) for d in fp32.predict(texts)]

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cache has it")

    monkeypatch.setattr(claimcls.onnx_backend, "write_onnx", no_export)
    assert claimcls.load(folder, device="cpu", precision="int8").precision == "int8"
    # other weights, another entry: the cache never serves a stale export
    model.module.tagger.bias.data += 1.0
    assert claimcls.onnx_backend.weights_key(model.module) != entry.name


def test_a_folder_with_its_own_int8_export_uses_it(tiny_model_dir, tmp_path, cache, monkeypatch):
    from claimcls.export import export_onnx

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    export_onnx(folder, quantize=True)
    monkeypatch.setattr(claimcls.onnx_backend, "write_onnx", lambda *a, **k: pytest.fail("exported although the folder has one"))
    model = claimcls.load(folder, device="cpu", precision="int8")
    assert model.precision == "int8" and not cache.exists()


def test_auto_takes_int8_only_where_the_cpu_has_it_and_it_agrees(tiny_model_dir, cache, bundled, monkeypatch):
    texts = [d.text for d in bundled[:4]]
    model = claimcls.load(tiny_model_dir, device="cpu", precision="fp32")
    monkeypatch.setattr(claimcls.device, "cpu_has_int8_dot", lambda: True)
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: True)
    assert precision_candidates("auto", CPU) == ["int8", "bf16", "fp32"]
    def recorded(agreement, **seconds):
        monkeypatch.setattr(claimcls.inference, "int8_onnx", lambda m, folder, texts: (
            _real_int8(m, folder, texts)[0], {"quantized": True, "token_label_agreement_with_fp32": agreement, "seconds": seconds}))

    recorded(0.995, fp32=2.0, int8=0.8, bf16=1.0)
    assert model.set_precision("auto", texts) == "int8" and model.precision == "int8"
    # int8 below 99% agreement: the next path, bf16 (checked live), is taken
    recorded(0.98, fp32=2.0, int8=0.8, bf16=1.0)
    assert model.set_precision("auto", texts) == "bf16" and model.precision == "bf16" and model.onnx is None
    # int8 timed slower than bf16 at its export (small encoders): bf16
    recorded(0.999, fp32=2.0, int8=1.1, bf16=1.0)
    assert model.set_precision("auto", texts) == "bf16"
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: False)  # then against fp32 only
    assert model.set_precision("auto", texts) == "int8"
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: True)
    # asked for by name, it is not second-guessed
    assert model.set_precision("int8") == "int8"
    assert model.set_precision("fp32") == "fp32" and model.onnx is None
    # a CPU without VNNI or AMX, or without onnxruntime: no int8 in auto
    monkeypatch.setattr(claimcls.device, "cpu_has_int8_dot", lambda: False)
    assert precision_candidates("auto", CPU) == ["bf16", "fp32"]
    monkeypatch.setattr(claimcls.device, "cpu_has_int8_dot", lambda: True)
    monkeypatch.setattr(claimcls.device, "has_onnxruntime", lambda: False)
    assert precision_candidates("auto", CPU) == ["bf16", "fp32"]


_real_int8 = claimcls.onnx_backend.int8_onnx


def test_int8_is_for_prediction_on_the_cpu_only(monkeypatch):
    monkeypatch.setattr(claimcls.device, "cpu_has_int8_dot", lambda: True)
    monkeypatch.setattr(claimcls.device, "has_onnxruntime", lambda: True)
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: True)
    assert choose_precision("auto", CPU) == "int8"
    assert choose_precision("auto", CPU, torch_only=True) == "bf16"  # what training autocasts to
    with pytest.raises(ValueError, match=r"int8 runs on the CPU \(ONNX Runtime\); on a GPU use precision='bf16'"):
        precision_candidates("int8", torch.device("cuda"))


def test_the_command_line_refuses_int8_on_a_gpu():
    from types import SimpleNamespace

    from claimcls.errors import InputError
    from claimcls.predict_io import _check_device

    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device to get past the no-CUDA refusal")
    with pytest.raises(InputError, match="--precision int8 runs on the CPU"):
        _check_device(SimpleNamespace(device="cuda", precision="int8", backend="torch"))
