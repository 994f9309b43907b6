"""Make a model trainable for unlearning (LoRA by default, or full fine-tuning) and save the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
    """Write OUTDIR/adapter (LoRA only) and OUTDIR/model (merged, standalone); returns the merged module."""
    model_dir = out_dir / "model"
    adapter_dir: Path | None = None
    model.eval()
    if lora:
        adapter_dir = out_dir / "adapter"
        model.save_pretrained(adapter_dir)
        merged = model.merge_and_unload()
    else:
        merged = model
    merged.requires_grad_(False)
    merged.save_pretrained(model_dir, safe_serialization=True)
    tokenizer.save_pretrained(model_dir)
    return merged, model_dir, adapter_dir
