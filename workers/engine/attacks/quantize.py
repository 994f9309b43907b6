"""Quantisation attack: an unlearning update smaller than a quantisation step is rounded away, and the model
quantised for serving says again what the full-precision one no longer does (arXiv 2410.16454). So the saved
model is re-probed quantised to int8 and to 4 bits.

int8: torch dynamic quantisation of every ``nn.Linear`` on CPU (what a CPU deployment runs), per-channel
round-to-nearest fake quantisation elsewhere (CUDA, GPT-2's Conv1D). 4-bit: group-wise round-to-nearest fake
quantisation (groups of 32 input weights, symmetric, levels -8..7), which runs on any device and rounds exactly
as a 4-bit kernel's weights do."""

from __future__ import annotations

import copy
from typing import Any

from workers.engine.attacks.base import MAX_LEAK_RATE, AttackSettings, Outcome, Target
from workers.engine.probe.config import ProbeConfig

GROUP = 32


def fake_quantize(weight: Any, *, bits: int, group: int | None) -> Any:
    """``weight`` rounded to ``bits``-bit symmetric levels: per output row, or per ``group`` inputs of a row."""
    import torch

    levels = 2 ** (bits - 1) - 1
    rows, cols = weight.shape
    w = weight.detach().float()
    if group and cols % group == 0:
        w = w.reshape(rows, cols // group, group)
    scale = w.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8) / levels
    q = torch.clamp(torch.round(w / scale), -levels - 1, levels) * scale
    return q.reshape(rows, cols).to(weight.dtype)


def _quantized_weights(model: Any) -> list[tuple[Any, bool]]:
    """The 2-D weights of every linear-like layer except the embeddings, each with whether it is stored
    (inputs, outputs) as GPT-2's Conv1D does rather than (outputs, inputs) as nn.Linear does."""
    import torch

    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    out = []
    for module in model.modules():
        weight = getattr(module, "weight", None)
        if (isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D") and weight is not None \
                and weight.dim() == 2 and id(weight) not in embeddings:
            out.append((weight, type(module).__name__ == "Conv1D"))
    return out


def quantized_copy(loaded: Any, variant: str) -> Any:
    """A copy of ``loaded`` (same tokenizer, path and device) with its weights quantised as ``variant`` says."""
    import torch

    from workers.engine.modelio import LoadedModel

    model = copy.deepcopy(loaded.model).eval()
    if variant == "int8" and loaded.device.type == "cpu" and all(
            type(m).__name__ != "Conv1D" for m in model.modules()):
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    else:
        bits, group = (8, None) if variant == "int8" else (4, GROUP)
        with torch.no_grad():
            for weight, transposed in _quantized_weights(model):
                if transposed:  # groups run along a output's inputs, as a kernel stores them
                    weight.copy_(fake_quantize(weight.t(), bits=bits, group=group).t())
                else:
                    weight.copy_(fake_quantize(weight, bits=bits, group=group))
    return LoadedModel(model=model, tokenizer=loaded.tokenizer, device=loaded.device, path=loaded.path)


def attack(loaded: Any, target: Target, *, config: ProbeConfig, settings: AttackSettings) -> list[Outcome]:
    """Each variant re-probed, and the exact leak of every forgotten value after each prompt it asked measured on
    the quantised weights (``probe.exact``): a value a quantised model gives one time in fifty is caught too."""
    from workers.engine.probe.exact import exact_leaks
    from workers.engine.probe.runner import all_known, run_probe

    values = [v for v in all_known(target.subject, list(target.discovered)) if v.attribute in target.attributes]
    outcomes = []
    for variant in ("int8", "int4"):
        quantized = quantized_copy(loaded, variant)
        report = run_probe(quantized, target.subject, config=config, contexts=list(target.contexts),
                           discovered=list(target.discovered), fast=False)
        exact = exact_leaks(quantized, report, values, temperature=config.temperature, top_p=config.top_p,
                            draws=settings.exact_draws, bound=MAX_LEAK_RATE)
        outcomes.append(Outcome(variant, report.findings, target.attributes, details={"exact": exact}))
        del quantized
    return outcomes
