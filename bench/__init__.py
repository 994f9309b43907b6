"""Benchmarks: ``python -m bench.unlearning``."""
