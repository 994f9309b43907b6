"""FILA leaves the model's outputs unchanged at step 0 while giving the adapters non-zero weights."""

import pytest
import torch

from workers.engine.fila import fila_init


def _batches(vocab: int, seed: int) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, vocab, (2, 10), generator=g)
    labels = ids.clone()
    labels[:, :4] = -100
    return [{"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}]


def test_fila_keeps_logits_and_sets_adapters():
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=32,
                      tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).eval()
    probe_ids = torch.randint(3, 64, (1, 12))
    with torch.no_grad():
        before = model(input_ids=probe_ids).logits
    original = {n: p.detach().clone() for n, p in model.named_parameters()}

    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                  target_modules="all-linear", task_type="CAUSAL_LM"))
    n_layers = fila_init(peft_model, forget_batches=_batches(64, 1), retain_batches=_batches(64, 2))
    assert n_layers == 2 * 7  # q, k, v, o, gate, up, down per layer

    peft_model.eval()
    with torch.no_grad():
        after = peft_model(input_ids=probe_ids).logits
    assert (after - before).abs().max().item() == pytest.approx(0.0, abs=1e-4)

    lora_b = [p for n, p in peft_model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # default LoRA init leaves B at zero
    # the base now holds the residual W - s*B0A0, so it differs from the original weights
    residual = peft_model.base_model.model.model.layers[0].self_attn.q_proj.base_layer.weight
    assert not torch.allclose(residual, original["model.layers.0.self_attn.q_proj.weight"])
    # training-mode grads flow only into the adapters
    assert all(not p.requires_grad for n, p in peft_model.named_parameters() if "lora_" not in n)
