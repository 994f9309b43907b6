"""The rtbf machine-learning engine: model loading, discovery probes, unlearning, verification.

Callable from Python without Celery or the web process. Modules reachable from the CLI root
(``cli.py``, ``cli_unlearn.py``) import torch, transformers and Presidio inside function bodies, so
``import workers.engine`` costs nothing on a web-only install.
"""
