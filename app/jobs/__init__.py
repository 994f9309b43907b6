"""Discovery and unlearning jobs: the state of record for work the GPU workers do (Celery only carries ids)."""
