"""A model rtbf never tuned on, and an independent judge of what unlearning left in it.

Imports nothing from ``workers`` or ``app`` (and ``workers`` never imports this): other people, another grammar,
another tokenizer and architecture, another way of counting a leak. ``python -m bench.foreign build|judge``.
"""
