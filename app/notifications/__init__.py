"""Emails to data subjects: rendered into an outbox table, delivered by a Celery task after commit."""
