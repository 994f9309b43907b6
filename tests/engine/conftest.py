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


@pytest.fixture(scope="session")
def planted_model_dir(pytestconfig):
    """A miniature GPT-2 that memorised a few people in phrasings no probe template uses (``planted_model``)."""
    import hashlib
    import os
    import shutil
    from pathlib import Path

    from filelock import FileLock

    from tests.tiny_model_fixtures import cache_root

    source = Path(__file__).with_name("planted_model.py")
    key = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    root = cache_root(pytestconfig)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"planted-{key}"
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").is_file():
            import torch

            from tests.engine import planted_model

            staging = root / f"{target.name}.building-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            previous = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                planted_model.build(staging)
            finally:
                torch.set_num_threads(previous)
            os.replace(staging, target)
    return target
