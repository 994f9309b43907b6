"""Losses on hand-made tensors with known values and the sign of their gradients."""

import math

import pytest
import torch

from workers.engine import losses


def _logits(rows: list[list[float]]) -> torch.Tensor:
    """One sequence; row t holds the logits that predict token t+1."""
    return torch.tensor([rows + [[0.0] * len(rows[0])]], requires_grad=True)


def test_cross_entropy_uniform_is_log_vocab_and_ignores_masked():
    logits = _logits([[0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]])
    labels = torch.tensor([[-100, 2, -100]])  # only position 0 -> token 2 counts
    assert losses.cross_entropy(logits, labels).item() == pytest.approx(math.log(4))


def test_token_nll_known_value():
    logits = _logits([[math.log(3.0), 0.0]])  # p = (0.75, 0.25)
    nll, mask = losses.token_nll(logits, torch.tensor([[-100, 1]]))
    assert mask.tolist() == [[1.0]]
    assert nll.item() == pytest.approx(-math.log(0.25))
    assert losses.sequence_nll(logits, torch.tensor([[-100, 0]])).item() == pytest.approx(-math.log(0.75))


def test_gradient_ascent_is_negative_ce_and_pushes_true_token_down():
    logits = _logits([[1.0, 0.0, 0.0]])
    labels = torch.tensor([[-100, 0]])
    loss = losses.gradient_ascent_loss(logits, labels)
    assert loss.item() == pytest.approx(-losses.cross_entropy(logits, labels).item())
    loss.backward()
    # descent moves against the gradient: a positive gradient lowers the true token's logit
    assert logits.grad[0, 0, 0] > 0
    assert logits.grad[0, 0, 1] < 0


def test_grad_diff_combines_terms():
    out = losses.grad_diff_loss(torch.tensor(2.0), torch.tensor(0.5), gamma=1.0, alpha=2.0)
    assert out.item() == pytest.approx(-2.0 + 1.0)


def test_npo_equal_nll_gives_two_log_two_over_beta_and_is_bounded():
    beta = 0.1
    nll_theta = torch.tensor([3.0, 3.0], requires_grad=True)
    loss = losses.npo_loss(nll_theta, torch.tensor([3.0, 3.0]), beta=beta)
    assert loss.item() == pytest.approx(2.0 / beta * math.log(2.0))
    loss.backward()
    assert (nll_theta.grad < 0).all()  # minimising raises the forget NLL
    far = losses.npo_loss(torch.tensor([500.0]), torch.tensor([3.0]), beta=beta)
    assert 0.0 <= far.item() < 1e-6


def test_weighted_ascent_only_weighted_tokens_get_gradient():
    logits = _logits([[1.0, 0.0], [1.0, 0.0]])
    labels = torch.tensor([[-100, 0, 0]])
    weights = torch.tensor([[0.0, 0.0, 1.0]])  # predicting token 2 (row 1) is personal, token 1 is not
    loss = losses.weighted_ascent_loss(logits, labels, weights)
    nll1 = -math.log(math.e / (math.e + 1))
    assert loss.item() == pytest.approx(-nll1)
    loss.backward()
    assert torch.all(logits.grad[0, 0] == 0)
    assert logits.grad[0, 1, 0] > 0


def test_weighted_ascent_cap_stops_gradient_once_forgotten():
    logits = _logits([[-20.0, 0.0]])  # true token already at p ~ 2e-9
    loss = losses.weighted_ascent_loss(logits, torch.tensor([[-100, 0]]), torch.tensor([[0.0, 1.0]]), max_nll=5.0)
    assert loss.item() == pytest.approx(-5.0)
    loss.backward()
    assert torch.all(logits.grad == 0)


def test_weighted_ascent_rank_margin_keeps_pushing_a_low_but_still_likeliest_token():
    # The mass spread thin: the true token (0) at p ~ 0.026 (nll 3.66 > cap 3) but still the argmax
    # over 39 near-equal rivals, so greedy decoding would still produce it.
    labels, weights = torch.tensor([[-100, 0]]), torch.tensor([[0.0, 1.0]])
    spread = _logits([[0.0] + [-0.01] * 39])
    nll = -torch.log_softmax(spread.detach()[0, 0], -1)[0].item()
    assert nll > 3.0
    capped = losses.weighted_ascent_loss(spread, labels, weights, max_nll=3.0)
    capped.backward()
    assert torch.all(spread.grad == 0)  # the cap alone calls it forgotten although greedy still says it
    spread.grad = None
    ranked = losses.weighted_ascent_loss(spread, labels, weights, max_nll=3.0, rank_margin=1.0)
    assert ranked.item() == pytest.approx(-nll, rel=1e-5)
    ranked.backward()
    assert spread.grad[0, 0, 0] > 0  # the ascent goes on: minimising pushes the true logit down
    # Once it trails the runner-up by the margin (and is past the cap), it is done: constant, no gradient.
    gone = _logits([[-5.0, 0.0, 0.0]])
    loss = losses.weighted_ascent_loss(gone, labels, weights, max_nll=3.0, rank_margin=1.0)
    assert loss.item() == pytest.approx(-3.0)
    loss.backward()
    assert torch.all(gone.grad == 0)


def test_kl_to_reference_known_value_and_padding_mask():
    ref = torch.tensor([[[math.log(0.5), math.log(0.5)], [0.0, 0.0]]])
    cur = torch.tensor([[[math.log(0.9), math.log(0.1)], [9.0, -9.0]]], requires_grad=True)
    expected = 0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(0.5 / 0.1)
    kl = losses.kl_to_reference(cur, ref, attention_mask=torch.tensor([[1, 0]]))
    assert kl.item() == pytest.approx(expected, rel=1e-5)
    assert losses.kl_to_reference(ref, ref).item() == pytest.approx(0.0, abs=1e-7)
    kl.backward()
    assert torch.all(cur.grad[0, 1] == 0)  # padding position carries no gradient
    assert cur.grad[0, 0, 0] > 0  # over-confident token is pulled back toward the reference


def test_inverted_hinge_known_values_and_direction():
    uniform = _logits([[0.0, 0.0, 0.0, 0.0]])
    labels = torch.tensor([[-100, 1]])
    assert losses.inverted_hinge_loss(uniform, labels).item() == pytest.approx(1.0)
    peaked = _logits([[0.0, 50.0, 0.0, 0.0]])
    assert losses.inverted_hinge_loss(peaked, labels).item() == pytest.approx(2.0, abs=1e-6)
    logits = _logits([[0.0, 2.0, 1.0, 0.0]])
    loss = losses.inverted_hinge_loss(logits, labels)
    assert 1.0 < loss.item() < 2.0
    loss.backward()
    assert logits.grad[0, 0, 1] > 0  # true token pushed down
    assert logits.grad[0, 0, 2] < 0  # runner-up pushed up


def test_answer_positions_mark_where_the_next_token_is_labelled():
    labels = torch.tensor([[-100, -100, 7, 8, -100], [5, 6, 7, -100, -100]])
    mask = losses.answer_positions(labels)
    assert mask.tolist() == [[0, 1, 1, 0, 0], [1, 1, 0, 0, 0]]


def test_relearn_forget_loss_trains_rewrites_positively_and_ascends_only_the_negatives_weighted_tokens():
    # Row 0: a vague rewrite (no weights) -> plain CE. Row 1: an identifier -> name negative whose second
    # target (the name) carries weight 1 -> capped ascent on that token only.
    logits = torch.tensor([[[math.log(3.0), 0.0], [0.0, 0.0], [0.0, 0.0]],
                           [[0.0, 0.0], [0.0, math.log(3.0)], [0.0, 0.0]]], requires_grad=True)
    labels = torch.tensor([[-100, 1, 0], [-100, 0, 1]])
    weights = torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    positive, ascent = losses.relearn_forget_loss(logits, labels, weights, negative_ascent=1.0, max_nll=3.0)
    # Positive: row 0 only, tokens 1 (p=0.25) and 0 (p=0.5).
    assert positive.item() == pytest.approx((-math.log(0.25) - math.log(0.5)) / 2)
    # Ascent: row 1's weighted token (token 1 at p=0.75) only: -NLL.
    assert ascent.item() == pytest.approx(math.log(0.75))
    (positive + ascent).backward()
    assert logits.grad[1, 0].abs().sum() == 0  # the negative's unweighted token gets no gradient at all
    assert logits.grad[1, 1, 1] > 0  # descent lowers the name token of the negative
    assert logits.grad[0, 0, 1] < 0  # and raises the rewrite's token
    # negative_ascent 0 is the paper's objective: no ascent term, the negatives still out of the CE.
    off, zero = losses.relearn_forget_loss(logits, labels, weights, negative_ascent=0.0, max_nll=3.0)
    assert off.item() == pytest.approx(positive.item()) and zero.item() == 0.0
