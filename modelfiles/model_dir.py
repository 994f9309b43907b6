"""A local Hugging Face model directory: is it one, and which weights does it hold (by SHA-256)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from modelfiles import UnusablePath

WEIGHT_GLOBS = ("*.safetensors",)


def weight_files(model_dir: Path) -> list[Path]:
    files = sorted(p for pattern in WEIGHT_GLOBS for p in model_dir.glob(pattern))
    if not files:
        files = sorted(model_dir.glob("pytorch_model*.bin"))
    return files


def check_model_dir(path: str | Path) -> Path:
    """Raise a clear ``UnusablePath`` unless ``path`` looks like a loadable HF model directory."""
    model_dir = Path(path)
    if not model_dir.exists():
        raise UnusablePath(f"model directory not found: {model_dir}")
    if not model_dir.is_dir():
        raise UnusablePath(f"model path is not a directory: {model_dir}")
    if not (model_dir / "config.json").is_file():
        raise UnusablePath(f"no config.json in model directory: {model_dir}")
    if not weight_files(model_dir):
        raise UnusablePath(f"no model weights (*.safetensors) in model directory: {model_dir}")
    return model_dir


def weights_sha256(model_dir: str | Path) -> str:
    """SHA-256 over the weight files in name order: identifies exactly which weights were probed."""
    directory = Path(model_dir)
    files = weight_files(directory)
    if not files:
        raise UnusablePath(f"no model weights (*.safetensors) in model directory: {directory}")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode())
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
