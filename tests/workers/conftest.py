"""The workers' tests run against a job stack (tests/job_stack.py): fresh database, tiny model, Redis."""

from tests.job_stack import make_stack, stack  # noqa: F401  (fixtures)
