"""Fixtures of the fault tests: a stack (fresh database, the tiny model registered, a broker) per test."""

from tests.job_stack import make_stack, stack  # noqa: F401  (fixtures)
