"""Progress reporting shared by every long-running engine entry point.

The worker turns events into database rows, the CLI into a progress bar; the engine only calls the
callback, so it never knows who is listening.
"""

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
