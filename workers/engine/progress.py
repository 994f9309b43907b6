"""Progress reporting shared by every long-running engine entry point.

The worker turns events into database rows, the CLI into a progress bar; the engine only calls the
callback, so it never knows who is listening. The callback is also the way to stop a run: an exception
it raises (``workers.engine.errors.Cancelled`` by convention) propagates out of the engine, which cleans
up after itself (``run_unlearning`` removes its partial output directory).

Stages of ``run_unlearning``, in order: ``discover`` (with nested ``discover/probe.*`` events of the probe
before, one set per subject), ``data``, ``utility``, ``unlearn`` (one per training step: ``step``, ``total`` =
max steps, metrics ``loss`` and the latest ``leak_rate`` once an early-stop check has run) interleaved with
``check/probe.*`` while an early-stop check runs, ``save``, ``verify`` (with ``verify/probe.*``) and ``done``.
Events never carry personal data: messages name stages and counts, not people.
"""

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProgressEvent:
    stage: str
    step: int
    total: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    message: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


def emit(
    progress: ProgressCallback | None,
    *,
    stage: str,
    step: int,
    total: int | None = None,
    metrics: dict[str, float] | None = None,
    message: str = "",
) -> None:
    """Send one event if anyone listens (callers need not check for ``None`` everywhere)."""
    if progress is not None:
        progress(ProgressEvent(stage=stage, step=step, total=total, metrics=dict(metrics or {}), message=message))


def nested(progress: ProgressCallback | None, prefix: str, message: str = "") -> ProgressCallback | None:
    """Forward a sub-task's events (e.g. a probe's ``probe.generate``) as ``prefix/probe.generate``, so a
    listener can tell the probe before unlearning from the early-stop check and the verification."""
    if progress is None:
        return None

    def forward(event: ProgressEvent) -> None:
        progress(dataclasses.replace(event, stage=f"{prefix}/{event.stage}", message=event.message or message))

    return forward


class TrainingMetrics:
    """Wraps a callback so every training event carries the latest early-stop ``leak_rate``.

    The training loop reports ``leak_rate`` only on the steps where a check ran; the officer's page shows
    the latest event, so later steps repeat the last measured rate instead of dropping it.
    """

    def __init__(self, progress: ProgressCallback | None, *, stage: str = "unlearn") -> None:
        self._progress = progress
        self._stage = stage
        self.leak_rate: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        if event.stage == self._stage:
            if "leak_rate" in event.metrics:
                self.leak_rate = event.metrics["leak_rate"]
            elif self.leak_rate is not None:
                event = dataclasses.replace(event, metrics={**event.metrics, "leak_rate": self.leak_rate})
        if self._progress is not None:
            self._progress(event)
