"""The tiny foreign model (``bench.foreign``), built once per source version and cached across runs and xdist
workers, like the demo model in ``tests/tiny_model_fixtures.py``."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tests.tiny_model_fixtures import cache_root

FOREIGN_SEED = 0


def _source_hash(root: Path) -> str:
    digest = hashlib.sha256(f"foreign-tiny-{FOREIGN_SEED}".encode())
    for file in sorted((root / "bench" / "foreign").glob("*.py")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="session")
def foreign_tiny(pytestconfig: pytest.Config) -> Path:
    """A built tiny foreign model: ``<dir>/model`` and ``<dir>/truth`` (read-only: copy before changing)."""
    from bench.foreign.build import build_foreign

    root = cache_root(pytestconfig)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"foreign-tiny-{_source_hash(Path(pytestconfig.rootpath))}"
    with FileLock(str(target) + ".lock"):
        if not (target / "truth" / "build.json").is_file():
            staging = root / f"{target.name}.building-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(target, ignore_errors=True)
            build_foreign(staging, size="tiny", seed=FOREIGN_SEED, threads=1, log=lambda _: None)
            os.replace(staging, target)
    return target


@pytest.fixture(scope="session")
def foreign_loaded(foreign_tiny: Path):
    """(model, tokenizer) of the tiny foreign model, loaded once per worker by the judge's own loader."""
    import torch

    from bench.foreign.judge import load

    torch.set_num_threads(1)
    return load(foreign_tiny / "model", device="cpu")
