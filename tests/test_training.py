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
