"""FILA: Fisher-weighted initialisation of LoRA adapters (Cha et al., ICLR 2025; anchors §3.2).

1. Empirical Fisher diagonals of every adapted base weight on the forget and the retain data:
   ``F_f = Σ (∂CE_f/∂W)² · n_tokens`` (likewise ``F_r``), divided by the token counts.
2. Relative importance ``I = F_f / (1e-5 + F_r)``, row weights ``w = sqrt(Σ_cols I)``.
3. ``U, S, V = svd_lowrank(diag(w)·W, q=r)``, ``S ← S / scaling``, ``A₀ = (V√S)ᵀ``,
   ``B₀ = diag(1/(w+1e-5))·U√S``; the base becomes the residual ``W − scaling·B₀A₀`` so the model's
   output is unchanged at step 0 while the adapter starts on the directions that matter for the forget set.

Caveat (recorded in the evidence): the adapter is then only valid on top of the *residual* base, so it
is not pluggable on the original weights; ship the merged model. ``disable_adapter()`` also no longer
gives the original model, so methods needing a reference model cannot use FILA.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch


def _lora_layers(model: torch.nn.Module, adapter_name: str) -> dict[str, torch.nn.Module]:
    from peft.tuners.lora import LoraLayer

    layers = {name: m for name, m in model.named_modules()
              if isinstance(m, LoraLayer) and adapter_name in getattr(m, "lora_A", {})}
    if not layers:
        raise ValueError(f"no LoRA layers with adapter {adapter_name!r} found")
    return layers


def fisher_diagonals(model: torch.nn.Module, layers: Mapping[str, torch.nn.Module],
                     batches: Iterable[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Token-normalised empirical Fisher diagonal of each layer's base weight (``measure_importance.py``)."""
    weights = {name: layer.get_base_layer().weight for name, layer in layers.items()}
    for w in weights.values():
        w.requires_grad_(True)
    sums = {name: torch.zeros_like(w, dtype=torch.float32) for name, w in weights.items()}
    tokens = 0.0
    try:
        for batch in batches:
            model.zero_grad(set_to_none=True)
            out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
            out.loss.backward()
            n = float((batch["labels"][:, 1:] != -100).sum())
            tokens += n
            for name, w in weights.items():
                if w.grad is not None:
                    sums[name] += w.grad.detach().float().pow(2) * n
    finally:
        for w in weights.values():
            w.grad = None
            w.requires_grad_(False)
        model.zero_grad(set_to_none=True)
    if tokens == 0:
        raise ValueError("FILA needs labelled tokens in both the forget and the retain data")
    return {name: s / tokens for name, s in sums.items()}


@torch.no_grad()
def _init_layer(layer: torch.nn.Module, fisher_f: torch.Tensor, fisher_r: torch.Tensor, adapter_name: str) -> None:
    base = layer.get_base_layer().weight
    lora_a = layer.lora_A[adapter_name].weight
    lora_b = layer.lora_B[adapter_name].weight
    scaling = float(layer.scaling[adapter_name])
    rank = lora_a.shape[0]
    weight = base.detach().float()
    importance = fisher_f / (1e-5 + fisher_r)
    row_w = importance.sum(dim=1).sqrt()
    u, s, v = torch.svd_lowrank(row_w[:, None] * weight, q=min(rank, *weight.shape))
    s = s / scaling
    a0 = (v * s.sqrt()).T
    b0 = (u * s.sqrt()) / (row_w[:, None] + 1e-5)
    q = a0.shape[0]
    a_full = torch.zeros_like(lora_a, dtype=torch.float32)
    b_full = torch.zeros_like(lora_b, dtype=torch.float32)
    a_full[:q] = a0
    b_full[:, :q] = b0
    lora_a.copy_(a_full.to(lora_a.dtype))
    lora_b.copy_(b_full.to(lora_b.dtype))
    base.copy_((weight - scaling * (b_full @ a_full)).to(base.dtype))


def fila_init(model: torch.nn.Module, *, forget_batches: Iterable[Mapping[str, torch.Tensor]],
              retain_batches: Iterable[Mapping[str, torch.Tensor]], adapter_name: str = "default") -> int:
    """Re-initialise every LoRA adapter of a peft ``model`` with FILA, in place; returns the layer count."""
    layers = _lora_layers(model, adapter_name)
    was_training = model.training
    model.eval()  # no dropout noise in the Fisher estimate
    try:
        fisher_f = fisher_diagonals(model, layers, forget_batches)
        fisher_r = fisher_diagonals(model, layers, retain_batches)
        for name, layer in layers.items():
            _init_layer(layer, fisher_f[name], fisher_r[name], adapter_name)
    finally:
        model.train(was_training)
    return len(layers)
