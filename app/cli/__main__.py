"""``python -m app.cli``: the ``rtbf`` console script without an installed entry point (used by ``rtbf up``)."""

from app.cli import main

main()
