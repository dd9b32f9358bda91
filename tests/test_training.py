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
