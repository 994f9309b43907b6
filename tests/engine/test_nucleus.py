"""Nucleus sampling without a full sort keeps exactly the tokens the transformers warper keeps."""

import pytest


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0, 8.0, 30.0])
@pytest.mark.parametrize("top_p", [0.5, 0.95])
def test_the_same_tokens_as_the_transformers_warper(scale, top_p):
    import torch
    from transformers.generation.logits_process import TopPLogitsWarper

    from workers.engine.probe.nucleus import Nucleus

    torch.manual_seed(int(scale * 10))
    scores = torch.randn(64, 3000) * scale  # flat rows reach past the first k and take the full sort
    expected = TopPLogitsWarper(top_p)(None, scores.clone())
    got = Nucleus(top_p)(None, scores.clone())
    assert torch.equal(torch.isinf(expected), torch.isinf(got))
    assert torch.equal(expected[torch.isfinite(expected)], got[torch.isfinite(got)])


def test_top_p_one_keeps_everything_and_bad_values_are_refused():
    import torch

    from workers.engine.probe.nucleus import Nucleus

    scores = torch.randn(2, 10)
    assert torch.equal(Nucleus(1.0)(None, scores), scores)
    with pytest.raises(ValueError):
        Nucleus(0.0)


def test_the_sampler_draws_from_the_nucleus_at_its_temperature():
    """Drawn by inverse CDF inside greedy decoding: the frequencies follow the tempered, top-p-cut distribution, and
    a token outside the nucleus is never drawn."""
    import torch

    from workers.engine.probe.nucleus import Nucleus, Sampler

    logits = torch.tensor([[2.0, 1.5, 1.0, 0.0, -1.0, -3.0]])
    temperature, top_p = 0.8, 0.9
    expected = Nucleus(top_p)(None, logits / temperature).softmax(-1)[0]
    torch.manual_seed(0)
    rows = logits.repeat(20000, 1)
    out = Sampler(temperature, top_p)(None, rows)
    assert torch.isfinite(out).sum(-1).eq(1).all()  # one token per row, which greedy decoding then takes
    counts = torch.bincount(out.argmax(-1), minlength=logits.shape[-1]).float() / rows.shape[0]
    assert counts[expected == 0].sum() == 0
    assert torch.allclose(counts, expected, atol=0.015)
    with pytest.raises(ValueError):
        Sampler(0.0, 0.9)
