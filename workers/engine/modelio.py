"""Load any local Hugging Face causal LM directory, the same way on CPU and on CUDA."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelfiles import UnusablePath
from modelfiles import model_dir as model_files
from workers.engine.errors import EngineError

if TYPE_CHECKING:
    import torch


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: "torch.device"
    path: Path


def pick_device() -> "torch.device":
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run a block with ``threads`` CPU threads (``None``: unchanged), then restore the setting.

    Measured: on 2 quiet cores 2 threads trained the tiny model 2x faster than 1; on 2 cores shared
    with other jobs 1 thread was 2-3x faster than 2. So the caller (CLI ``--threads``) decides.
    """
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_model_dir(path: str | Path) -> Path:
    """Raise a clear ``EngineError`` unless ``path`` looks like a loadable HF model directory (the web process
    checks a registration with the same ``modelfiles`` check)."""
    try:
        return model_files.check_model_dir(path)
    except UnusablePath as exc:
        raise EngineError(str(exc)) from None


def load_model(path: str | Path, *, device: "torch.device | str | None" = None, dtype: Any = None) -> LoadedModel:
    """Load model + tokenizer from a local directory (never the network).

    fp32 on CPU (bf16 matmuls are slow and lossy there), bf16 on CUDA; the tokenizer gets a pad token
    and left padding so batched generation continues every prompt from its real last token.
    """
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    # Per-shard progress bars drown the CLI's own progress; the engine reports through ProgressCallback.
    hf_logging.disable_progress_bar()

    model_dir = check_model_dir(path)
    dev = torch.device(device) if device is not None else pick_device()
    if dtype is None:
        dtype = torch.bfloat16 if dev.type == "cuda" else torch.float32
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise EngineError(f"cannot load model from {model_dir}: {type(exc).__name__}: {exc}".splitlines()[0]) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.unk_token
    if tokenizer.pad_token is None:
        raise EngineError(f"tokenizer in {model_dir} has no pad, eos or unk token to pad batches with")
    tokenizer.padding_side = "left"
    if model.generation_config is not None and model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.to(dev)
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, device=dev, path=model_dir)


def context_limit(loaded: LoadedModel) -> int:
    """The most tokens one sequence may hold: the model's positions (GPT-2 has a fixed table) and the
    tokenizer's own limit, whichever is smaller."""
    config = getattr(loaded.model, "config", None)
    limits = [getattr(config, name, None) for name in ("max_position_embeddings", "n_positions")]
    limits.append(getattr(loaded.tokenizer, "model_max_length", None))
    usable = [int(v) for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
    return min(usable) if usable else 2048


def format_prompt(tokenizer: Any, text: str) -> str:
    """Wrap ``text`` as a user turn when the model is a chat model; plain text otherwise."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
        )
    return text


def weights_sha256(model_dir: str | Path) -> str:
    """SHA-256 over the weight files in name order: identifies exactly which weights were probed. The digest the
    web process records when a model is registered (``modelfiles``), so evidence and registry name one set."""
    try:
        return model_files.weights_sha256(model_dir)
    except UnusablePath as exc:
        raise EngineError(str(exc)) from None
