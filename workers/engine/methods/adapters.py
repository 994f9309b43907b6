"""Make a model trainable for unlearning (LoRA by default, or full fine-tuning) and save the result."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from workers.engine.errors import EngineError


def make_trainable(model: Any, *, lora: bool, rank: int, alpha: int, seed: int) -> Any:
    """LoRA on every linear layer but the output head (peft ``all-linear``), or all weights."""
    import torch

    torch.manual_seed(seed)
    if not lora:
        model.requires_grad_(True)
        return model
    from peft import LoraConfig, get_peft_model

    cfg = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def trainable_snapshot(model: Any) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_outputs(model: Any, tokenizer: Any, *, out_dir: Path, lora: bool) -> tuple[Any, Path, Path | None]:
    """Write OUTDIR/adapter (LoRA only) and OUTDIR/model (merged, standalone); returns the merged module.

    Both are written under temporary names, synced, and renamed once complete: a save cut short (disk full, a file
    size limit, the process killed) leaves nothing under the final names that could pass for a model, and one that
    raises removes what it wrote. A failed write is an ``EngineError`` naming the system's reason (the job's
    failure reason), never a path."""
    from safetensors import SafetensorError

    model_dir = out_dir / "model"
    adapter_dir = out_dir / "adapter" if lora else None
    staged = {final: final.with_name(f".{final.name}.partial") for final in (adapter_dir, model_dir) if final}
    model.eval()
    try:
        if adapter_dir is not None:
            model.save_pretrained(staged[adapter_dir])
            merged = model.merge_and_unload()
        else:
            merged = model
        merged.requires_grad_(False)
        merged.save_pretrained(staged[model_dir], safe_serialization=True)
        tokenizer.save_pretrained(staged[model_dir])
        for partial in staged.values():
            _sync_tree(partial)
    except BaseException as exc:
        for partial in staged.values():
            shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError | SafetensorError):
            raise EngineError(f"Saving the unlearned model failed: {_write_failure(exc)}. Nothing was put into "
                              "service; make room in the data directory and start the job again.") from exc
        raise
    for final, partial in staged.items():
        os.replace(partial, final)
    _sync_dir(out_dir)
    return merged, model_dir, adapter_dir


def _write_failure(exc: BaseException) -> str:
    """The system's words for a failed write ("No space left on device"); safetensors reports only the errno."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    found = re.search(r"os error (\d+)", str(exc))
    return os.strerror(int(found.group(1))) if found else type(exc).__name__


def _sync_tree(folder: Path) -> None:
    # Renamed but unsynced files can come back empty after a power cut, under a name that passes for a model.
    for path in sorted(folder.rglob("*"), reverse=True) + [folder]:  # a folder after what it holds
        if path.is_dir():
            _sync_dir(path)
        else:
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def _sync_dir(folder: Path) -> None:
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
