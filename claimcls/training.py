"""Fine-tuning with accelerate: one CPU, one GPU with mixed precision, or several processes
under ``accelerate launch``, with the same code.

Each epoch ends with an evaluation on dev; the best model (whole-attribution F1) is saved
as a complete model folder in ``output_dir``; a resumable checkpoint (model, optimizer,
scheduler, RNG states, position in the epoch) is kept in ``output_dir/checkpoint`` and
removed when training ends.
"""

from __future__ import annotations


import json
import logging
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from .batching import IGNORE, Example, collate, training_examples
from .config import Config
from .corpus import bundled_split, read_corpus
from .evaluation import evaluate, format_metrics
from .inference import AttributionModel, build_encoder
from .modeling import ClaimModel
from .schema import Document

logger = logging.getLogger(__name__)


@dataclass
class Corpora:
    """Training documents (each with whether it has full labels) and named dev sets."""

    train: list[tuple[Document, bool]]
    dev: dict[str, list[Document]]


def load_corpora(config: Config) -> Corpora:
    """Read the corpora the data config names."""
    d = config.data
    train: list[tuple[Document, bool]] = []
    dev: dict[str, list[Document]] = {}

    def cap(docs, n):
        return docs[:n] if n else docs

    if d.polnear:
        root = d.polnear_path()
        docs = read_corpus(root, split="train", on_invalid="skip")
        if d.polnear_fraction < 1:
            keep = sorted(np.random.default_rng(0).permutation(len(docs))[: max(1, round(d.polnear_fraction * len(docs)))])
            docs = [docs[i] for i in keep]
        train += [(doc, False) for doc in cap(docs, d.max_train_docs)]
        dev["polnear_dev"] = cap(read_corpus(root, split="dev", on_invalid="skip"), d.max_dev_docs)
    if d.bundled:
        docs = read_corpus("bundled")  # its test split is never read here
        held = [doc for doc in docs if bundled_split(doc.id, d.bundled_dev_fraction) == "dev"]
        rest = [doc for doc in docs if bundled_split(doc.id, d.bundled_dev_fraction) == "train"]
        train += [(doc, True) for doc in cap(rest, d.max_train_docs)] * d.bundled_repeat
        if held:
            dev["bundled_dev"] = cap(held, d.max_dev_docs)
    for path in d.train_files:
        train += [(doc, True) for doc in cap(read_corpus(path), d.max_train_docs)]
    for path in d.dev_files:
        dev[Path(path).stem] = cap(read_corpus(path), d.max_dev_docs)
    if d.nested_reports == "drop":
        train = [(without_nested_reports(doc), full) for doc, full in train]
    if not train:
        raise ValueError("no training data: enable data.bundled or data.polnear, or list data.train_files")
    return Corpora(train, dev)


def without_nested_reports(doc: Document) -> Document:
    """``doc`` without the attributions whose cue lies inside another attribution's content."""
    contents = [(i, s) for i, a in enumerate(doc.attributions) for s in a.content]
    keep = tuple(
        a for i, a in enumerate(doc.attributions)
        if not any(j != i and s.start <= a.cue.start and a.cue.end <= s.end for j, s in contents)
    )
    return replace(doc, attributions=keep) if len(keep) < len(doc.attributions) else doc


def compute_loss(module: ClaimModel, batch: dict[str, torch.Tensor], config: Config) -> tuple[torch.Tensor, dict[str, float]]:
    """Tagging cross-entropy + linking binary cross-entropy + kind cross-entropy."""
    hidden, logits = module.encode(batch["input_ids"], batch["attention_mask"], batch["case_ids"])
    tag_loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, 3), batch["tags"].reshape(-1), ignore_index=IGNORE)
    loss = tag_loss
    parts = {"tag": tag_loss.item()}
    cues, cands, links = batch["cues"], batch["cands"], batch["links"]
    if len(cues):
        cue_repr = module.span_repr(hidden, cues)
        if len(links):
            cand_repr = module.span_repr(hidden, cands[:, :3])
            i, j = links[:, 0].long(), links[:, 1].long()
            delta = cands[j, 1] - cues[i, 1]
            sents = batch["sent_ids"]
            sent_delta = sents[cands[j, 0], cands[j, 1]] - sents[cues[i, 0], cues[i, 1]]
            role = cands[j, 3]
            logits = module.link_logits(cue_repr[i], cand_repr[j], delta, role, sent_delta).float()
            y = links[:, 2]
            link_loss = _choice_loss(logits, y, i, role, module.null_logits(cue_repr).float(), batch["kinds"] != IGNORE)
            loss = loss + config.train.link_weight * link_loss
            parts["link"] = link_loss.item()
        if (batch["kinds"] != IGNORE).any():
            kind_loss = torch.nn.functional.cross_entropy(module.kind_logits(cue_repr).float(), batch["kinds"], ignore_index=IGNORE)
            loss = loss + config.train.kind_weight * kind_loss
            parts["kind"] = kind_loss.item()
    return loss, parts


def _choice_loss(logits, y, cue_of, role, null_logits, full) -> torch.Tensor:
    """Content: binary cross-entropy per candidate (content may have several pieces).
    Source and target: cross-entropy of choosing the gold candidate, or "none", among a
    cue's candidates of that role. Targets count only for cues from fully labelled corpora."""
    content = role == 1
    losses = []
    if content.any():
        losses.append(torch.nn.functional.binary_cross_entropy_with_logits(logits[content], y[content], reduction="sum"))
    for r in (0, 2):
        for c in range(null_logits.shape[0]):
            if r == 2 and not bool(full[c]):
                continue
            sel = (role == r) & (cue_of == c)
            scores = torch.cat([logits[sel], null_logits[c, r : r + 1]])
            pos = torch.nonzero(y[sel] > 0)
            gold = int(pos[0]) if len(pos) else len(scores) - 1
            losses.append(torch.nn.functional.cross_entropy(scores.unsqueeze(0), torch.tensor([gold], device=scores.device), reduction="sum"))
    n = max(int(content.sum()) + 2 * null_logits.shape[0], 1)
    return torch.stack(losses).sum() / n if losses else logits.sum() * 0


def set_attention_dropout(encoder: torch.nn.Module, p: float) -> None:
    """Set the dropout on attention probabilities (the ``dropout`` of every ``*SelfAttention``
    module, as in BERT and MPNet). At 0, PyTorch's fused attention kernel stays usable in
    training: a step of 16 windows took 1.64 s instead of 2.55 s on a 2-core CPU."""
    if hasattr(encoder.config, "attention_probs_dropout_prob"):
        encoder.config.attention_probs_dropout_prob = p
    for module in encoder.modules():
        if type(module).__name__.endswith("SelfAttention") and isinstance(getattr(module, "dropout", None), torch.nn.Dropout):
            module.dropout.p = p


class TimedSchedule:
    """Linear warm-up then linear decay to zero at ``horizon`` steps, where the horizon is the
    planned number of steps, or, under ``train.max_minutes``, as many as the time left allows
    (re-estimated from the measured pace as training goes): a run cut by the clock still ends
    with its learning rate annealed instead of stopping at a high one."""

    def __init__(self, warmup: int, total: int):
        self.warmup, self.total, self.horizon = warmup, total, total

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return step / max(1, self.warmup)
        return max(0.0, (self.horizon - step) / max(1, self.horizon - self.warmup))

    def fit(self, step: int, seconds_per_step: float, seconds_left: float) -> None:
        reachable = step + int(max(0.0, seconds_left) / max(seconds_per_step, 1e-6))
        self.horizon = max(min(self.total, reachable), min(step + 1, self.total))


def _fit_to_time(schedule: TimedSchedule, state: dict, pace: dict, seconds_left: float) -> bool:
    """Re-fit the schedule's horizon to the time left (the final evaluation's time is kept in
    reserve); ``True`` when training should stop now."""
    step = state["global_step"]
    if pace["step"] is None or step < pace["step"]:
        pace["step"], pace["time"] = step, time.time()  # the pace is measured from here on
    elif step - pace["step"] >= 20 and step % 20 == 0:
        per_step = (time.time() - pace["time"]) / (step - pace["step"])
        old = schedule.horizon
        schedule.fit(step, per_step, seconds_left - pace["eval_seconds"])
        state["horizon"] = schedule.horizon
        if schedule.horizon != old and step % 200 == 0:
            logger.info("step %d: %.2f s a step; learning rate reaches zero at step %d", step, per_step, schedule.horizon)
    if seconds_left <= 0 or (schedule.horizon < schedule.total and step >= schedule.horizon):
        logger.info("train.max_minutes: stopping after step %d (%.0f s left)", step, seconds_left)
        return True
    return False


def _mixed_precision(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    from .inference import cpu_has_native_bf16

    # bf16 autocast trained 3.4x faster than fp32 on this project's 2-core AVX512-BF16 CPU
    return "bf16" if cpu_has_native_bf16() else "no"


def train(config: Config, output_dir: str | os.PathLike, *, resume: bool = False) -> AttributionModel | None:
    """Train a model as ``config`` says and save the best one in ``output_dir``.

    Args:
        config: the resolved configuration.
        output_dir: where the model folder (and, while training, ``checkpoint/``) go.
        resume: continue from ``output_dir/checkpoint`` after an interruption.

    Returns:
        The best model on the main process (``None`` on the others).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm
    from accelerate.state import AcceleratorState

    t_start = time.time()
    if AcceleratorState._shared_state:  # an earlier train() in this process fixed its precision
        AcceleratorState._reset_state()
    # the schedule counts optimiser steps (not steps times processes, accelerate's default)
    accelerator = Accelerator(mixed_precision=_mixed_precision(config.train.mixed_precision), step_scheduler_with_optimizer=False)
    set_seed(config.train.seed)
    output_dir = Path(output_dir)
    ckpt_dir = output_dir / "checkpoint"
    if resume and not (ckpt_dir / "trainer_state.json").is_file():
        raise FileNotFoundError(f"--resume: no checkpoint in {ckpt_dir}; start without --resume")
    encoder, tokenizer = build_encoder(config.model.encoder)
    set_attention_dropout(encoder, config.train.attention_dropout)
    module = ClaimModel(config.model, encoder)
    corpora = load_corpora(config)
    examples: list[Example] = []
    for i, (doc, full) in enumerate(corpora.train):
        examples += training_examples(tokenizer, doc, i, config.model.max_length, config.model.context, full)
    logger.info("%d training documents -> %d windows; dev sets: %s", len(corpora.train), len(examples),
                {k: len(v) for k, v in corpora.dev.items()})
    tc = config.train
    head_params = [p for n, p in module.named_parameters() if not n.startswith("encoder.")]
    enc_params = [p for n, p in module.named_parameters() if n.startswith("encoder.")]
    optimizer = torch.optim.AdamW(
        [{"params": enc_params, "lr": tc.lr}, {"params": head_params, "lr": tc.head_lr}], weight_decay=tc.weight_decay
    )
    steps_per_epoch = math.ceil(len(examples) / (tc.batch_size * accelerator.num_processes))
    total = steps_per_epoch * tc.epochs
    schedule = TimedSchedule(int(tc.warmup_ratio * total), total)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    module, optimizer, scheduler = accelerator.prepare(module, optimizer, scheduler)
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -1.0, "history": [], "train_seconds": 0.0,
             "horizon": total}
    if resume:
        accelerator.load_state(str(ckpt_dir))
        state = json.loads((ckpt_dir / "trainer_state.json").read_text())
        schedule.horizon = state.get("horizon", total)
        logger.info("resumed at epoch %d, step %d", state["epoch"], state["step_in_epoch"])
    pad = tokenizer.pad_token_id
    last_ckpt = time.time()
    elapsed_before = state["train_seconds"]
    stop = False
    pace = {"step": None, "time": None, "eval_seconds": 60.0}  # for fitting the schedule to max_minutes

    def save_checkpoint():
        accelerator.wait_for_everyone()
        state["train_seconds"] = elapsed_before + time.time() - t_start
        accelerator.save_state(str(ckpt_dir))
        if accelerator.is_main_process:
            (ckpt_dir / "trainer_state.json").write_text(json.dumps(state, indent=2))

    def evaluate_and_keep(tag: str):
        t_eval = time.time()
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            model = AttributionModel(accelerator.unwrap_model(module), tokenizer, config, device=accelerator.device,
                                     encoder_name=config.model.encoder)
            metrics = {name: evaluate(model, docs) for name, docs in corpora.dev.items()}
            model.module.train()
            key = next(iter(metrics), None)
            value = metrics[key]["attribution"]["f1"] if key else float(state["global_step"])
            for name, m in metrics.items():
                logger.info("%s on %s:\n%s", tag, name, format_metrics(m))
            state["history"].append({"at": tag, "step": state["global_step"], "scores": {k: v["attribution"]["f1"] for k, v in metrics.items()}})
            if value >= state["best"]:  # on a tie the later, longer-trained model wins
                state["best"] = value
                model.metrics = {"selected_on": key, "at": tag, "dev": metrics}
                model.save(output_dir, training={"config": config.to_dict(), "state": state})
                logger.info("new best %.2f (%s) saved to %s", value, key, output_dir)
        accelerator.wait_for_everyone()
        pace["eval_seconds"] = time.time() - t_eval

    for epoch in range(state["epoch"], tc.epochs):
        rng = np.random.default_rng(tc.seed + epoch)
        order = rng.permutation(len(examples))
        # batches of similar length (less padding), in random order
        chunks = [order[k : k + tc.batch_size * 50] for k in range(0, len(order), tc.batch_size * 50)]
        order = np.concatenate([sorted(c, key=lambda i: len(examples[i].input_ids)) for c in chunks])
        batches = [order[k : k + tc.batch_size] for k in range(0, len(order), tc.batch_size)]
        rng.shuffle(batches)
        loader = DataLoader([[examples[i] for i in b] for b in batches], batch_size=None,
                            collate_fn=lambda exs: collate(exs, pad))
        loader = accelerator.prepare_data_loader(loader)
        skip = state["step_in_epoch"]
        if skip:
            loader = accelerator.skip_first_batches(loader, skip)
        module.train()
        bar = tqdm(loader, total=len(loader) + skip, initial=skip, desc=f"epoch {epoch + 1}/{tc.epochs}",
                   disable=not accelerator.is_local_main_process, mininterval=1 if sys.stderr.isatty() else 60)
        for batch in bar:
            with accelerator.autocast():  # compute_loss calls encode(), not the wrapped forward()
                loss, parts = compute_loss(module, batch, config)
            accelerator.backward(loss)
            accelerator.clip_grad_norm_(module.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            state["step_in_epoch"] += 1
            state["global_step"] += 1
            if state["global_step"] % tc.log_every == 0:
                bar.set_postfix({k: f"{v:.3f}" for k, v in parts.items()})
                logger.info("step %d loss %.4f %s", state["global_step"], loss.item(), parts)
            if tc.eval_every_steps and state["global_step"] % tc.eval_every_steps == 0:
                evaluate_and_keep(f"step {state['global_step']}")
            if time.time() - last_ckpt > tc.checkpoint_minutes * 60:
                save_checkpoint()
                last_ckpt = time.time()
            if tc.max_minutes:
                stop = _fit_to_time(schedule, state, pace, tc.max_minutes * 60 - (elapsed_before + time.time() - t_start))
                if stop:
                    break
        state["epoch"] = epoch + (0 if stop else 1)
        state["step_in_epoch"] = state["step_in_epoch"] if stop else 0
        evaluate_and_keep(f"epoch {epoch + 1}" + (" (stopped)" if stop else ""))
        save_checkpoint()
        if stop:
            break
    state["train_seconds"] = elapsed_before + time.time() - t_start
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        training = json.loads((output_dir / "training.json").read_text()) if (output_dir / "training.json").is_file() else {}
        training["final_state"] = state
        (output_dir / "training.json").write_text(json.dumps(training, indent=2))
        if not stop:
            shutil.rmtree(ckpt_dir, ignore_errors=True)
        from .inference import load

        return load(output_dir, device=accelerator.device)
    return None
