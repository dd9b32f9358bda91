"""The model end to end: overfitting, save/reload, batching, broken folders, ONNX."""

import json
import shutil

import pytest

import claimcls
from claimcls.errors import ModelFolderError
from conftest import FIXTURES


def _key(doc):
    return [
        (a.source and a.source.text, a.cue.text, tuple(c.text for c in a.content), a.target and a.target.text, a.kind, a.quote)
        for a in doc.attributions
    ]


@pytest.mark.slow
def test_tiny_model_overfits_and_reproduces_after_reload(overfit):
    model, out = overfit
    gold = claimcls.read_corpus(FIXTURES / "tiny.jsonl")
    pred = model.predict([d.text for d in gold])
    assert [_key(p) for p in pred] == [_key(g) for g in gold]
    resolved = [a.resolved_source for a in pred[0].attributions]
    assert resolved == ["Lena Ortiz", "Lena Ortiz"]  # "she" resolved to the named mayor
    again = claimcls.load(out, device="cpu", precision="fp32").predict([d.text for d in gold])
    assert [p.to_dict() for p in again] == [p.to_dict() for p in pred]
    for name in ("config.json", "model.safetensors", "encoder/config.json", "metrics.json", "training.json"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "config.json").read_text())
    assert meta["claimcls_version"] == claimcls.__version__ and meta["labels"]["kinds"][0] == "statement"
    for doc in pred:
        for att in doc.attributions:
            for _, span in att.spans():
                assert doc.text[span.start : span.end] == span.text


@pytest.mark.slow
def test_the_saved_decoder_config_decides_the_output(overfit, tmp_path):
    model, out = overfit
    texts = [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")]
    assert any(d.attributions for d in model.predict(texts))
    folder = tmp_path / "strict"
    shutil.copytree(out, folder)
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["decode"].update(content_threshold=1.0, content_fallback=1.0)  # no content can pass
    (folder / "config.json").write_text(json.dumps(meta))
    strict = claimcls.load(folder, device="cpu", precision="fp32")
    assert strict.decode.content_threshold == 1.0
    assert not any(d.attributions for d in strict.predict(texts))


def _without_scores(doc):
    d = doc.to_dict()
    d.pop("id")  # one-by-one documents are each number 0
    scores = [a.pop("score") for a in d["attributions"]]
    return d, scores


@pytest.mark.slow
def test_batched_predictions_equal_one_by_one(overfit, bundled):
    model, _ = overfit
    texts = [d.text for d in bundled[:6]] + [d.text for d in claimcls.read_corpus(FIXTURES / "tiny.jsonl")] + ["No attribution here."]
    batched = model.predict(texts, batch_size=16)
    single = [model.predict([t], batch_size=1)[0] for t in texts]
    for b, s in zip(batched, single):
        (bd, bs), (sd, ss) = _without_scores(b), _without_scores(s)
        assert bd == sd
        assert bs == pytest.approx(ss, abs=1e-3)  # padding changes float summation order, not labels
    streamed = list(model.predict_stream(({"id": f"d{i}", "text": t} for i, t in enumerate(texts)), batch_size=5, chunk_size=3))
    assert [d.id for d in streamed] == [f"d{i}" for i in range(len(texts))]
    assert [_without_scores(d)[0]["attributions"] for d in streamed] == [_without_scores(d)[0]["attributions"] for d in batched]
    # chunks cut by characters (each document its own chunk here) change nothing either
    by_chars = list(model.predict_stream(texts, batch_size=16, chunk_chars=1))
    assert [_without_scores(d)[0] for d in by_chars] == [_without_scores(d)[0] for d in batched]


def test_learning_rate_schedule_fitted_to_the_time_budget():
    from claimcls.training import TimedSchedule

    s = TimedSchedule(warmup=10, total=1000)
    assert (s(0), s(5), s(10), s(1000)) == (0.0, 0.5, 1.0, 0.0)
    s.fit(step=100, seconds_per_step=2.0, seconds_left=400.0)  # 200 more steps fit in the time left
    assert s.horizon == 300
    assert s(200) == pytest.approx(100 / 290) and s(299) > 0 and s(300) == 0.0
    s.fit(step=100, seconds_per_step=0.01, seconds_left=1e6)  # never beyond the planned steps
    assert s.horizon == 1000


def test_training_stops_where_the_fitted_schedule_ends():
    from claimcls.schedule import Pace, TimedSchedule, fit_to_time
    from claimcls.training import TrainerState

    s, state, pace = TimedSchedule(warmup=0, total=1000), TrainerState(), Pace(eval_seconds=0.0)
    assert not fit_to_time(s, state, pace, 100.0)  # starts the clock
    pace.time -= 40.0  # as if the next 20 steps took 40 s
    state.global_step = 20
    assert not fit_to_time(s, state, pace, 61.0)  # 2 s a step and 61 s left: 30 more steps
    assert s.horizon == state.horizon == 50
    state.global_step = 50
    assert fit_to_time(s, state, pace, 1.0)


def test_attention_dropout_is_set_without_touching_other_dropout():
    from claimcls.modeling import build_encoder
    from claimcls.training import set_attention_dropout

    encoder, _ = build_encoder("tiny")
    set_attention_dropout(encoder, 0.0)
    ps = {name: m.p for name, m in encoder.named_modules() if type(m).__name__ == "Dropout"}
    assert ps["encoder.layer.0.attention.self.dropout"] == 0.0 and encoder.config.attention_probs_dropout_prob == 0.0
    assert ps["encoder.layer.0.output.dropout"] == 0.1  # hidden-state dropout is kept


def test_predict_rejects_a_bare_string_and_bad_items(tiny_model):
    with pytest.raises(TypeError, match=r"got a single str; use predict\(\[text\]\)"):
        tiny_model.predict("He said so.")
    with pytest.raises(ValueError, match=r"input 0: a mapping needs a 'text' field"):
        list(tiny_model.predict_stream([{"id": "x"}]))
    with pytest.raises(TypeError, match=r"input 0: expected a str or a mapping"):
        list(tiny_model.predict_stream([42]))


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / "model.safetensors").unlink(), r"incomplete: model\.safetensors is missing"),
    (lambda p: (p / "config.json").write_text("{not json"), r"config\.json: not valid JSON"),
    (lambda p: (p / "config.json").write_text(json.dumps({**json.loads((p / "config.json").read_text()), "labels": {"kinds": ["x"]}})),
     r"its label maps .* differ from this claimcls's"),
    (lambda p: (p / "config.json").write_text(json.dumps({**json.loads((p / "config.json").read_text()), "format_version": 99})),
     r"has format version 99; this claimcls reads 1"),
    (lambda p: (p / "encoder" / "config.json").write_text((p / "encoder" / "config.json").read_text().replace('"hidden_size": 64', '"hidden_size": 48')),
     r"model\.safetensors does not match the model in config\.json"),
], ids=["no-weights", "bad-json", "labels", "version", "shape"])
def test_broken_model_folders_get_clear_errors(tiny_model_dir, tmp_path, damage, message):
    broken = tmp_path / "m"
    shutil.copytree(tiny_model_dir, broken)
    damage(broken)
    with pytest.raises(ModelFolderError, match=message):
        claimcls.load(broken, device="cpu")


def test_missing_model_folder(tmp_path):
    with pytest.raises(ModelFolderError, match=r"does not exist or is not a folder; train one"):
        claimcls.load(tmp_path / "nope")


def test_auto_precision_keeps_bf16_only_where_it_agrees_with_fp32(tiny_model_dir, bundled, monkeypatch):
    import claimcls.device

    model = claimcls.load(tiny_model_dir, device="cpu", precision="fp32")
    texts = [d.text for d in bundled[:4]]
    assert model.agreement(texts, "bf16") >= 0.99 and model.precision == "fp32"  # the check leaves fp32 in place
    monkeypatch.setattr(claimcls.device, "cpu_has_int8_dot", lambda: False)  # int8: tests/test_int8.py
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: True)
    assert model.set_precision("auto", texts) == "bf16" and model.precision == "bf16"
    monkeypatch.setattr(model, "agreement", lambda texts, precision: 0.98)
    assert model.set_precision("auto", texts) == "fp32" and model.precision == "fp32"
    monkeypatch.setattr(claimcls.device, "cpu_has_native_bf16", lambda: False)
    assert model.set_precision("auto", texts) == "fp32"
    assert model.set_precision("bf16") == "bf16"  # asked for, not checked
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        model.set_precision("fp16")
    with pytest.raises(ValueError, match="precision must be auto, fp32, bf16, fp16, int8, got 'int4'"):
        model.set_precision("int4")


def test_python_and_the_command_line_share_one_default_precision():
    import inspect

    from claimcls.cli import build_parser
    from claimcls.config import DEFAULT_PRECISION

    assert inspect.signature(claimcls.load).parameters["precision"].default == DEFAULT_PRECISION == "auto"
    for command in ("predict", "evaluate"):
        args = build_parser().parse_args([command, "--model", "m"] + (["--data", "d"] if command == "evaluate" else []))
        assert args.precision == DEFAULT_PRECISION


def test_onnx_backend_agrees_with_torch(tiny_model_dir, tmp_path, bundled):
    pytest.importorskip("onnxruntime")
    from claimcls.export import export_onnx

    folder = tmp_path / "m"
    shutil.copytree(tiny_model_dir, folder)
    with pytest.raises(ModelFolderError, match=r"model\.onnx is missing; create it with: claimcls export --onnx"):
        claimcls.load(folder, backend="onnx")
    texts = [d.text for d in bundled[:4]]
    export_onnx(folder, quantize=False, check_texts=texts)
    check = json.loads((folder / "onnx_check.json").read_text())
    assert check["token_label_agreement_with_fp32"] >= 0.999
    torch_docs = claimcls.load(folder, device="cpu", precision="fp32").predict(texts)
    onnx_docs = claimcls.load(folder, backend="onnx").predict(texts)
    same = sum(_key(a) == _key(b) for a, b in zip(torch_docs, onnx_docs))
    assert same >= len(texts) - 1
    export_onnx(folder, quantize=True, check_texts=texts)  # int8: agreement is measured and recorded
    from claimcls.device import label_agreement

    recorded = json.loads((folder / "onnx_check.json").read_text())
    measured = label_agreement(claimcls.load(folder, device="cpu", precision="fp32").token_labels(texts),
                               claimcls.load(folder, backend="onnx").token_labels(texts))
    assert recorded["quantized"] is True and recorded["token_label_agreement_with_fp32"] == pytest.approx(measured)


def test_load_and_save_refuse_unsound_weights(tiny_model_dir, tmp_path):
    import stat

    import torch
    from safetensors.torch import load_file, save_file

    broken = tmp_path / "nan"
    shutil.copytree(tiny_model_dir, broken)
    state = load_file(str(broken / "model.safetensors"))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name][0] = float("nan")
    save_file(state, str(broken / "model.safetensors"))
    with pytest.raises(ModelFolderError, match=rf"model\.safetensors: tensor '{name}' holds \d+ NaN or infinite"):
        claimcls.load(broken, device="cpu")

    model = claimcls.load(tiny_model_dir, device="cpu", precision="fp32")
    saved = model.save(tmp_path / "copy")
    assert stat.S_IMODE((saved / "model.safetensors").stat().st_mode) == 0o644  # others can load a shared model
    before = (saved / "model.safetensors").read_bytes()
    with torch.no_grad():
        next(model.module.parameters()).fill_(float("inf"))
    with pytest.raises(ModelFolderError, match="refusing to save .* infinite values"):
        model.save(saved)
    assert (saved / "model.safetensors").read_bytes() == before  # the folder that was there is untouched
