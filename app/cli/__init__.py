"""The platform's side of the ``rtbf`` CLI (``app.cli.platform`` registers its commands).

The console script itself is ``workers/cli.py``: it adds the worker and the engine's commands, which app/ must
not import.
"""
