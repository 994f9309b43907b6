"""Engine test settings. The tiny demo model fixtures (``tiny_model_dir``, ``tiny_roster``, ``tiny_loaded``)
are shared by every test folder: ``tests/tiny_model_fixtures.py``."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """Two xdist workers share 2 cores: one torch thread each is faster than two fighting threads.

    Here rather than in tests/conftest.py because it imports torch (seconds per worker), which the web tests
    have no use for."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
