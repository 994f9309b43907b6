"""The engine's exceptions.

``EngineError``: a clear, user-facing message (the CLI prints it and exits 2).
``Cancelled``: raised by a caller's progress callback to stop a run; deliberately NOT an ``EngineError``,
so code that turns engine errors into "failed: <reason>" (the CLI's exit 2, the worker's failed job) cannot
mistake an officer's cancellation for a failure.
"""


class EngineError(Exception):
    """Bad input or an unusable model: the message names the problem without personal data."""


class Cancelled(Exception):
    """The run was cancelled by whoever listens to its progress; it stopped and left no outputs behind."""
