"""rtbf web process: request portal, officer review, REST API and audit log."""
