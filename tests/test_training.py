"""The trainer: evaluation cadence, its saved state, and several trainings in one process."""

import json

from claimcls.config import load_config
from claimcls.training import Trainer, TrainerState
from conftest import ROOT


def test_evaluation_every_n_epochs_and_always_after_the_last(tiny_model_dir, tmp_path):
    # tiny_model_dir trained in this process with mixed_precision "auto" (bf16 on a CPU that
    # has it); this one asks for "no", which accelerate alone would refuse in one process
    config = load_config(ROOT / "configs" / "tiny.yaml", {"train.epochs": "3", "train.eval_every_epochs": "2",
                                                          "train.mixed_precision": "no", "data.max_train_docs": "2"})
    trainer = Trainer(config, tmp_path / "m")
    model = trainer.train()
    assert [h["at"] for h in trainer.state.history] == ["epoch 2", "epoch 3"]
    assert trainer.amp_dtype is None and model.precision == "fp32"
    final = json.loads((tmp_path / "m" / "training.json").read_text())["final_state"]
    assert TrainerState(**final) == trainer.state and trainer.state.epoch == 3
    assert trainer.state.global_step == trainer.schedule.total
    assert not (tmp_path / "m" / "checkpoint").exists()  # removed when training ends


def test_cue_bias_is_tuned_on_dev_and_saved_with_the_model(tmp_path):
    import claimcls
    from claimcls.evaluation import evaluate

    config = load_config(ROOT / "configs" / "tiny.yaml", {"train.epochs": "1", "data.max_train_docs": "2",
                                                          "train.tune_cue_bias": "-19,2"})
    trainer = Trainer(config, tmp_path / "m")
    model = trainer.train()
    tried = model.metrics["cue_bias"]["tried"]
    assert sorted(tried) == ["-19.0", "0.0", "2.0"]
    chosen = model.metrics["cue_bias"]["chosen"]
    assert tried[str(chosen)] == max(tried.values())
    # at -19 no token is a cue, so nothing is predicted
    assert tried["-19.0"] == 0.0
    saved = claimcls.load(tmp_path / "m", device="cpu", precision="fp32")
    assert saved.decode.cue_bias == chosen
    dev = trainer.corpora.dev["bundled_dev"]
    assert evaluate(saved, dev)["attribution"]["f1"] == tried[str(chosen)]


def test_select_last_keeps_the_latest_model_not_the_best(tmp_path, monkeypatch):
    import claimcls.training

    scores = iter([60.0, 40.0, 50.0])  # dev F1 at epochs 1, 2, 3: the best is the first

    def fake_evaluate(model, docs):
        return {"attribution": {"f1": next(scores), "precision": 0.0, "recall": 0.0, "pred": 0, "gold": 0}}

    monkeypatch.setattr(claimcls.training, "evaluate", fake_evaluate)
    monkeypatch.setattr(claimcls.training, "format_metrics", lambda m: "")
    for select, kept in (("best", "epoch 1"), ("last", "epoch 3")):
        scores = iter([60.0, 40.0, 50.0])
        config = load_config(ROOT / "configs" / "tiny.yaml", {
            "train.epochs": "3", "data.max_train_docs": "2", "train.select": select, "train.calibrate": "false",
            "train.mixed_precision": "no"})
        trainer = Trainer(config, tmp_path / select)
        trainer.train()
        assert json.loads((tmp_path / select / "metrics.json").read_text())["at"] == kept


def test_train_splits_and_select_are_checked():
    import pytest

    from claimcls.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data.polnear_train_splits must name 'train', 'dev' or both, got \['test'\]"):
        load_config(None, {"data.polnear_train_splits": "test"})
    with pytest.raises(ConfigError, match=r"train.select must be 'best' or 'last', got 'first'"):
        load_config(None, {"train.select": "first"})
    assert load_config(None, {"data.polnear_train_splits": "train,dev"}).data.polnear_train_splits == ("train", "dev")
