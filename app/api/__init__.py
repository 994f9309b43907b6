"""The versioned REST API for legal tooling."""
