"""rtbf workers: the Celery app and tasks, and the ML engine under ``workers.engine``."""
