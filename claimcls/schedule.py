"""The learning-rate schedule, fitted as training goes to ``train.max_minutes``: a run cut
by the clock still ends with its learning rate annealed (see docs/model.md)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)


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


class Progress(Protocol):
    """What :func:`fit_to_time` reads and updates (``training.TrainerState`` has both)."""

    global_step: int
    horizon: int


@dataclass
class Pace:
    """The measured time per step, for fitting the schedule to ``train.max_minutes``."""

    step: int | None = None  # measured from this step...
    time: float | None = None  # ...and this time on
    eval_seconds: float = 60.0  # the last evaluation's time, kept in reserve


def fit_to_time(schedule: TimedSchedule, state: Progress, pace: Pace, seconds_left: float) -> bool:
    """Re-fit the schedule's horizon to the time left (the final evaluation's time is kept in
    reserve); ``True`` when training should stop now."""
    step = state.global_step
    if pace.step is None or step < pace.step:
        pace.step, pace.time = step, time.time()  # the pace is measured from here on
    elif step - pace.step >= 20 and step % 20 == 0:
        per_step = (time.time() - pace.time) / (step - pace.step)
        old = schedule.horizon
        schedule.fit(step, per_step, seconds_left - pace.eval_seconds)
        state.horizon = schedule.horizon
        if schedule.horizon != old and step % 200 == 0:
            logger.info("step %d: %.2f s a step; learning rate reaches zero at step %d", step, per_step, schedule.horizon)
    if seconds_left <= 0 or (schedule.horizon < schedule.total and step >= schedule.horizon):
        logger.info("train.max_minutes: stopping after step %d (%.0f s left)", step, seconds_left)
        return True
    return False
