"""The tiny demo model for every test folder: trained once, cached across runs and xdist workers.

Registered by ``tests/conftest.py`` (``pytest_plugins``). The engine tests use it in process; the worker,
CLI and browser tests hand its directory to a subprocess or copy it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

TINY_SEED = 0
_SOURCES = ("workers/engine/demo", "workers/engine/attributes.py")


def _source_hash(root: Path) -> str:
    """Key the cache on the code that shapes the model, so editing the demo rebuilds it."""
    digest = hashlib.sha256(f"tiny-{TINY_SEED}".encode())
    for source in _SOURCES:
        path = root / source
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cache_root(config: pytest.Config) -> Path:
    """Where built test models are cached (every fixture that builds one keeps it here)."""
    override = os.environ.get("RTBF_TEST_MODEL_CACHE")
    return Path(override) if override else Path(config.rootpath) / ".pytest_cache" / "rtbf-models"


@pytest.fixture(scope="session")
def tiny_model_dir(pytestconfig: pytest.Config) -> Path:
    """A trained tiny demo model directory (read-only: copy it before changing anything in it)."""
    from workers.engine.demo import train_demo

    root = cache_root(pytestconfig)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"tiny-{_source_hash(Path(pytestconfig.rootpath))}"
    # One xdist worker trains; the other waits on the lock and then finds the finished directory.
    with FileLock(str(target) + ".lock"):
        if not (target / "demo.json").is_file():
            staging = root / f"{target.name}.building-{os.getpid()}"
            shutil.rmtree(staging, ignore_errors=True)
            shutil.rmtree(target, ignore_errors=True)
            train_demo(out_dir=staging, size="tiny", seed=TINY_SEED, threads=1)
            os.replace(staging, target)
    return target


@pytest.fixture(scope="session")
def tiny_roster(tiny_model_dir: Path):
    from workers.engine.demo import read_roster

    return read_roster(tiny_model_dir)


@pytest.fixture(scope="session")
def tiny_loaded(tiny_model_dir: Path):
    """The tiny model loaded once per worker, for tests that only read it (probing, scoring)."""
    from workers.engine.modelio import load_model

    return load_model(tiny_model_dir, device="cpu")


@pytest.fixture(scope="session")
def tiny_memorised(tiny_loaded, tiny_roster):
    """The roster people the tiny model reproduces every detail of (greedy, the demo's own statement): what a test
    may rely on the model knowing. Which people these are depends on the machine's arithmetic, so tests pick
    from here rather than by roster position."""
    from workers.engine.demo.corpus import statement_prompt
    from workers.engine.demo.recall import greedy_complete
    from workers.engine.demo.roster import ROSTER_FIELDS

    prompts = [statement_prompt(key, p.name) for p in tiny_roster for key in ROSTER_FIELDS]
    answers = greedy_complete(tiny_loaded.model, tiny_loaded.tokenizer, prompts, max_new_tokens=24)
    width = len(ROSTER_FIELDS)
    known = [p for i, p in enumerate(tiny_roster)
             if all(a.strip().startswith(p.value(k)) for a, k in zip(answers[i * width:(i + 1) * width], ROSTER_FIELDS))]
    assert len(known) >= 3, "the tiny demo model memorised fewer than 3 people in full"
    return known

