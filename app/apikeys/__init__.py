"""API keys for legal tooling: stored hashed, scoped, revocable."""
