"""The engine's one error type: a clear, user-facing message (the CLI prints it and exits 2)."""


class EngineError(Exception):
    """Bad input or an unusable model: the message names the problem without personal data."""
