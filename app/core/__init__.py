"""Cross-cutting pieces of the web process: settings, database, security, errors, logging."""
