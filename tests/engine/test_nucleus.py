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
