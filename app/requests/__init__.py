"""Erasure requests: intake, identity verification, review, deadlines."""
