"""structlog set-up: dotted event names with ids bound; personal data never goes to the log."""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the moment of writing.

    A logger keeps its output file from its first use on; handed ``sys.stderr`` itself, a module's logger would keep
    writing to a stream that was current then and may have been swapped since (pytest's capture of an earlier test),
    and its lines would be lost to whoever reads stderr now.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


# One instance: structlog serialises writes per output file, and every configuration writes to this one.
_STDERR = _CurrentStderr()


def configure_logging(level: str = "INFO") -> None:
    # stderr: stdout belongs to command output (e.g. the API key printed by `rtbf apikey create`).
    logging.basicConfig(format="%(message)s", level=level, stream=sys.stderr)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        # One write per line (WriteLogger writes the line and its newline together, print() in two calls): with
        # several processes on one stream (rtbf serve --workers N), lines interleaved mid-line.
        logger_factory=structlog.WriteLoggerFactory(_STDERR),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
