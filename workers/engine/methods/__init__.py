"""Unlearning methods: one small module per method and one explicit registry."""

from workers.engine.methods import fpga, ga, graddiff, ihl, npo, relearn
from workers.engine.methods.base import Method

METHODS: dict[str, Method] = {m.name: m for m in (fpga.METHOD, relearn.METHOD, ihl.METHOD, ga.METHOD,
                                                  graddiff.METHOD, npo.METHOD)}

__all__ = ["METHODS", "Method"]
