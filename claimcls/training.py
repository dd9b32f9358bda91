"""Fine-tuning with accelerate: one CPU, one GPU with mixed precision, or several processes
under ``accelerate launch``, with the same code (:class:`Trainer`, or :func:`train`).

Every ``train.eval_every_epochs`` epochs (and after the last) the model is evaluated on
dev; the best model (whole-attribution F1) is saved as a complete model folder in
``output_dir``; a resumable checkpoint (model, optimizer, scheduler, RNG states, position
in the epoch) is kept in ``output_dir/checkpoint`` and removed when training ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from .batching import LABEL_KEYS, Example, collate, special_ids, training_examples
from .config import Config
from .device import DTYPES, choose_precision
from .evaluation import evaluate, format_metrics
from .inference import AttributionModel, load
from .modeling import ClaimModel, build_encoder
from .schedule import Pace, TimedSchedule, fit_to_time
from .training_data import Corpora, load_corpora, without_nested_reports  # noqa: F401 - without_nested_reports: re-exported

logger = logging.getLogger(__name__)


def set_attention_dropout(encoder: torch.nn.Module, p: float) -> None:
    """Set the dropout on attention probabilities (the ``dropout`` of every ``*SelfAttention``
    module, as in BERT and MPNet). At 0, PyTorch's fused attention kernel stays usable in
    training: a step of 16 windows took 1.64 s instead of 2.55 s on a 2-core CPU."""
    if hasattr(encoder.config, "attention_probs_dropout_prob"):
        encoder.config.attention_probs_dropout_prob = p
    for module in encoder.modules():
        if type(module).__name__.endswith("SelfAttention") and isinstance(getattr(module, "dropout", None), torch.nn.Dropout):
            module.dropout.p = p


@dataclass
class TrainerState:
    """Where training stands; written with each checkpoint (``trainer_state.json``) so that
    ``--resume`` continues from it, and into the model folder's ``training.json``."""

    epoch: int = 0  # epochs finished
    step_in_epoch: int = 0  # optimiser steps done in the current epoch
    global_step: int = 0
    best: float = -1.0  # the best dev score so far (whole-attribution F1)
    history: list[dict[str, Any]] = field(default_factory=list)  # every evaluation's scores
    train_seconds: float = 0.0  # over all runs of this training, resumptions included
    horizon: int = 0  # the step at which the learning rate reaches zero (TimedSchedule)

    @classmethod
    def read(cls, path: Path) -> "TrainerState":
        data = json.loads(path.read_text())
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Trainer:
    """Trains a model as a :class:`~claimcls.config.Config` says and keeps the best one.

    Example:
        >>> model = Trainer(load_config("configs/tiny.yaml"), "models/tiny").train()  # doctest: +SKIP
    """

    def __init__(self, config: Config, output_dir: str | os.PathLike):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        self.config = config
        self.output_dir = Path(output_dir)
        self.ckpt_dir = self.output_dir / "checkpoint"
        # mixed precision is autocast here rather than accelerate's: accelerate fixes it once
        # per process, so a second training with another setting would need its private reset.
        # Several processes: a batch without cues, or without kinds (PolNeAR), leaves heads unused.
        self.accelerator = Accelerator(mixed_precision="no", step_scheduler_with_optimizer=False,
                                       kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)])
        setting = config.train.mixed_precision
        precision = choose_precision({"no": "fp32"}.get(setting, setting), self.accelerator.device, torch_only=True)
        self.amp_dtype = None if precision == "fp32" else DTYPES[precision]
        self.scaler = torch.amp.GradScaler(self.accelerator.device.type, enabled=precision == "fp16")
        self.state = TrainerState()
        self.pace = Pace()

    def train(self, resume: bool = False) -> AttributionModel | None:
        """Train, evaluating and checkpointing as configured; ``resume`` continues from
        ``output_dir/checkpoint``. Returns the best model (fp32) on the main process,
        ``None`` on the others."""
        from accelerate.utils import set_seed

        t_start = time.time()
        tc, acc = self.config.train, self.accelerator
        set_seed(tc.seed)
        if resume and not (self.ckpt_dir / "trainer_state.json").is_file():
            raise FileNotFoundError(f"--resume: no checkpoint in {self.ckpt_dir}; start without --resume")
        self._prepare()
        if resume:
            acc.load_state(str(self.ckpt_dir))
            self.state = TrainerState.read(self.ckpt_dir / "trainer_state.json")
            self.schedule.horizon = self.state.horizon or self.schedule.total
            logger.info("resumed at epoch %d, step %d", self.state.epoch, self.state.step_in_epoch)
        self.clock = (t_start, self.state.train_seconds)
        self.last_ckpt = time.time()
        stop = False
        for epoch in range(self.state.epoch, tc.epochs):
            stop = self._epoch(epoch)
            self.state.epoch = epoch + (0 if stop else 1)
            self.state.step_in_epoch = self.state.step_in_epoch if stop else 0
            if stop or epoch + 1 == tc.epochs or (epoch + 1) % tc.eval_every_epochs == 0:
                self._evaluate(f"epoch {epoch + 1}" + (" (stopped)" if stop else ""))
                self._checkpoint()
            if stop:
                break
        return self._finish(stop)

    def _prepare(self) -> None:
        """Encoder, model, examples, optimiser and schedule."""
        config, tc, acc = self.config, self.config.train, self.accelerator
        encoder, self.tokenizer = build_encoder(config.model.encoder, config.model.encoder_layers)
        set_attention_dropout(encoder, tc.attention_dropout)
        module = ClaimModel(config.model, encoder)
        self.corpora = load_corpora(config)
        self.examples: list[Example] = []
        for i, (doc, full) in enumerate(self.corpora.train):
            self.examples += training_examples(self.tokenizer, doc, i, config.model.max_length, config.model.context, full)
        logger.info("%d training documents -> %d windows; dev sets: %s", len(self.corpora.train), len(self.examples),
                    {k: len(v) for k, v in self.corpora.dev.items()})
        head_params = [p for n, p in module.named_parameters() if not n.startswith("encoder.")]
        enc_params = [p for n, p in module.named_parameters() if n.startswith("encoder.")]
        optimizer = torch.optim.AdamW(
            [{"params": enc_params, "lr": tc.lr}, {"params": head_params, "lr": tc.head_lr}], weight_decay=tc.weight_decay
        )
        steps_per_epoch = math.ceil(len(self.examples) / (tc.batch_size * acc.num_processes))
        total = steps_per_epoch * tc.epochs
        self.schedule = TimedSchedule(int(tc.warmup_ratio * total), total)
        self.state.horizon = total
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self.schedule)
        self.module, self.optimizer, self.scheduler = acc.prepare(module, optimizer, scheduler)
        if self.scaler.is_enabled():
            acc.register_for_checkpointing(self.scaler)

    def _elapsed(self) -> float:
        """Training seconds so far, over resumptions."""
        t_start, before = self.clock
        return before + time.time() - t_start

    def _loader(self, epoch: int) -> DataLoader:
        """This epoch's batches: of windows of similar length (less padding), in random order."""
        tc = self.config.train
        rng = np.random.default_rng(tc.seed + epoch)
        order = rng.permutation(len(self.examples))
        chunks = [order[k : k + tc.batch_size * 50] for k in range(0, len(order), tc.batch_size * 50)]
        order = np.concatenate([sorted(c, key=lambda i: len(self.examples[i].input_ids)) for c in chunks])
        batches = [order[k : k + tc.batch_size] for k in range(0, len(order), tc.batch_size)]
        rng.shuffle(batches)
        pad = special_ids(self.tokenizer)[2]
        loader = DataLoader([[self.examples[i] for i in b] for b in batches], batch_size=None,
                            collate_fn=lambda exs: collate(exs, pad))
        return self.accelerator.prepare_data_loader(loader)

    def _epoch(self, epoch: int) -> bool:
        """One pass over the data (the rest of it, after a resumption); ``True`` when
        ``train.max_minutes`` says to stop."""
        from tqdm.auto import tqdm

        tc, acc, state = self.config.train, self.accelerator, self.state
        loader = self._loader(epoch)
        skip = state.step_in_epoch
        if skip:
            loader = acc.skip_first_batches(loader, skip)
        self.module.train()
        bar = tqdm(loader, total=len(loader) + skip, initial=skip, desc=f"epoch {epoch + 1}/{tc.epochs}",
                   disable=not acc.is_local_main_process, mininterval=1 if sys.stderr.isatty() else 60)
        for batch in bar:
            loss, parts = self._step(batch)
            state.step_in_epoch += 1
            state.global_step += 1
            if state.global_step % tc.log_every == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in parts.items()})
                logger.info("step %d loss %.4f %s", state.global_step, loss, parts)
            if tc.eval_every_steps and state.global_step % tc.eval_every_steps == 0:
                self._evaluate(f"step {state.global_step}")
            if time.time() - self.last_ckpt > tc.checkpoint_minutes * 60:
                self._checkpoint()
            if tc.max_minutes and fit_to_time(self.schedule, state, self.pace, tc.max_minutes * 60 - self._elapsed()):
                return True
        return False

    def _step(self, batch: dict[str, torch.Tensor]) -> tuple[float, dict[str, float]]:
        """One optimiser step on a collated batch; the loss and its parts."""
        tc = self.config.train
        amp = torch.autocast(self.accelerator.device.type, dtype=self.amp_dtype) if self.amp_dtype else contextlib.nullcontext()
        with amp:
            out = self.module(batch["input_ids"], batch["attention_mask"], batch["case_ids"], batch["sent_ids"],
                              labels={k: batch[k] for k in LABEL_KEYS},
                              loss_weights={"link": tc.link_weight, "kind": tc.kind_weight})
        self.scaler.scale(out.loss).backward()
        self.scaler.unscale_(self.optimizer)
        self.accelerator.clip_grad_norm_(self.module.parameters(), 1.0)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad()
        return out.loss.item(), out.loss_parts

    def _evaluate(self, tag: str) -> None:
        """Score every dev set; save the model when the first one's score is the best yet
        (or always, under ``train.select: last``)."""
        t_eval = time.time()
        acc, state = self.accelerator, self.state
        acc.wait_for_everyone()
        if acc.is_main_process:
            model = AttributionModel(acc.unwrap_model(self.module), self.tokenizer, self.config, device=acc.device,
                                     encoder_name=self.config.model.encoder)
            metrics = {name: evaluate(model, docs) for name, docs in self.corpora.dev.items()}
            model.module.train()
            key = next(iter(metrics), None)
            value = metrics[key]["attribution"]["f1"] if key else float(state.global_step)
            for name, m in metrics.items():
                logger.info("%s on %s:\n%s", tag, name, format_metrics(m))
            state.history.append({"at": tag, "step": state.global_step, "scores": {k: v["attribution"]["f1"] for k, v in metrics.items()}})
            # on a tie the later, longer-trained model wins; select: last keeps every newer one
            if value >= state.best or self.config.train.select == "last":
                state.best = value
                model.metrics = {"selected_on": key, "at": tag, "dev": metrics}
                model.save(self.output_dir, training={"config": self.config.to_dict(), "state": state.to_dict()})
                logger.info("new best %.2f (%s) saved to %s", value, key, self.output_dir)
        acc.wait_for_everyone()
        self.pace.eval_seconds = time.time() - t_eval

    def _checkpoint(self) -> None:
        self.last_ckpt = time.time()
        self.accelerator.wait_for_everyone()
        self.state.train_seconds = self._elapsed()
        self.accelerator.save_state(str(self.ckpt_dir))
        if self.accelerator.is_main_process:
            (self.ckpt_dir / "trainer_state.json").write_text(json.dumps(self.state.to_dict(), indent=2))

    def _finish(self, stopped: bool) -> AttributionModel | None:
        """Record the final state; drop the checkpoint unless stopped by the clock."""
        self.state.train_seconds = self._elapsed()
        self.accelerator.wait_for_everyone()
        if not self.accelerator.is_main_process:
            return None
        path = self.output_dir / "training.json"
        training = json.loads(path.read_text()) if path.is_file() else {}
        training["final_state"] = self.state.to_dict()
        path.write_text(json.dumps(training, indent=2))
        if not stopped:
            shutil.rmtree(self.ckpt_dir, ignore_errors=True)
        # in fp32, as it was evaluated during training
        model = load(self.output_dir, device=self.accelerator.device, precision="fp32")
        with model.encoder_cache():  # the dev set is encoded once for every setting tried
            if self.config.train.tune_cue_bias and self.corpora.dev:
                model = self._tune_cue_bias(model, training)
            if self.config.train.calibrate and self.corpora.dev:
                model = self._calibrate(model, training)
        return model

    def _calibrate(self, model: AttributionModel, training: dict[str, Any]) -> AttributionModel:
        """Fit the score calibration on the first dev set, under the final decode settings,
        and save it with the model; too few predictions to fit one keep the raw score."""
        from .calibration import fit_calibrator, outcomes
        from .errors import InputError

        name, docs = next(iter(self.corpora.dev.items()))
        model.calibration = None
        pred = model.predict([d.text for d in docs])
        try:
            model.calibration = fit_calibrator(*outcomes(docs, pred), data=name, split="dev")
        except InputError as err:
            logger.warning("no score calibration: %s", err)
            return model
        fit = model.calibration.fitted_on
        logger.info("score calibration fitted on %s: ECE %.4f raw -> %.4f calibrated", name, fit["ece_before"], fit["ece_after"])
        model.save(self.output_dir, training=training)
        return model

    def _tune_cue_bias(self, model: AttributionModel, training: dict[str, Any]) -> AttributionModel:
        """Decode the first dev set with each ``train.tune_cue_bias`` value and save the model
        with the best whole-attribution F1 (on a tie, the value nearest 0)."""
        name, docs = next(iter(self.corpora.dev.items()))
        tried = {}
        for bias in sorted(set(self.config.train.tune_cue_bias) | {model.decode.cue_bias}, key=abs):
            model.decode = dataclasses.replace(model.decode, cue_bias=bias)
            tried[bias] = evaluate(model, docs)
            logger.info("decode.cue_bias %+.2f on %s: attribution F1 %.2f", bias, name, tried[bias]["attribution"]["f1"])
        best = max(tried, key=lambda b: tried[b]["attribution"]["f1"])  # the first maximum: nearest 0
        model.decode = dataclasses.replace(model.decode, cue_bias=best)
        model.metrics = {**model.metrics, "dev": {name: tried[best]},
                         "cue_bias": {"chosen": best, "tried": {str(b): m["attribution"]["f1"] for b, m in tried.items()}}}
        model.save(self.output_dir, training=training)
        logger.info("decode.cue_bias %+.2f chosen on %s and saved to %s", best, name, self.output_dir)
        return model


def train(config: Config, output_dir: str | os.PathLike, *, resume: bool = False) -> AttributionModel | None:
    """Train a model as ``config`` says and save the best one in ``output_dir``.

    Args:
        config: the resolved configuration.
        output_dir: where the model folder (and, while training, ``checkpoint/``) go.
        resume: continue from ``output_dir/checkpoint`` after an interruption.

    Returns:
        The best model on the main process (``None`` on the others).
    """
    return Trainer(config, output_dir).train(resume=resume)
