"""The files rtbf is pointed at, a model directory and its training corpus, checked without loading them.

The web process checks a registration with these (``app/targets``) and the engine checks its inputs and hashes the
weights it probes with the same code (``workers/engine``), so a version's recorded weights digest is the one its
evidence names. This package imports neither side: app/ must not import the worker package, and the engine must
not import the web.
"""


class UnusablePath(Exception):
    """The path cannot be used as what it was given for; the message says why (it names the path, never its
    contents)."""
