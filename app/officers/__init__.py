"""Compliance officers: the people who review erasure requests."""
