"""Unlearning losses: small pure functions, tensors in -> tensor out.

Conventions (as in HF / OpenUnlearning, anchors §1.2): ``logits`` is ``(B, T, V)`` for the whole sequence,
``labels`` is ``(B, T)`` with ``-100`` on positions that carry no loss (prompt, padding). Every function shifts
once internally so position ``t`` predicts token ``t+1``. Losses are written to be *minimised*.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def _shift(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Align predictions with targets; returns (logits[B,T-1,V], safe targets[B,T-1], mask[B,T-1] float)."""
    shift_logits = logits[:, :-1, :]
    shift_labels = labels[:, 1:]
    mask = shift_labels != IGNORE_INDEX
    # -100 would index vocab entry V-100 (the UNDIAL bug, anchors §1.8); clamp to 0 and mask instead.
    safe = shift_labels.masked_fill(~mask, 0)
    return shift_logits, safe, mask.to(logits.dtype)


def token_nll(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token negative log-likelihood ``ℓ_t = −log p_θ(y_t | y_<t)`` and its mask, both ``(B, T-1)``."""
    shift_logits, targets, mask = _shift(logits, labels)
    logp = F.log_softmax(shift_logits.float(), dim=-1)
    nll = -logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return nll * mask, mask


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean token NLL over labelled tokens, ``CE_θ`` (= HF ``outputs.loss``; anchors §1.2)."""
    nll, mask = token_nll(logits, labels)
    return nll.sum() / mask.sum().clamp_min(1.0)


def sequence_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed answer NLL per sequence, ``NLL_θ(y|x)`` of shape ``(B,)`` (``compute_batch_nll``, anchors §1.2)."""
    nll, _ = token_nll(logits, labels)
    return nll.sum(dim=-1)


def gradient_ascent_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """GA (Jang et al. 2022; anchors §1.2, §5): ``L = −CE_θ(forget)``. Unbounded below."""
    return -cross_entropy(logits, labels)


def grad_diff_loss(forget_loss: torch.Tensor, retain_loss: torch.Tensor, *, gamma: float = 1.0,
                   alpha: float = 1.0) -> torch.Tensor:
    """GradDiff (anchors §1.2): ``L = γ·(−CE_θ(forget)) + α·L_ret``; ``forget_loss`` is the (positive) CE."""
    return -gamma * forget_loss + alpha * retain_loss


def npo_loss(nll_theta: torch.Tensor, nll_ref: torch.Tensor, *, beta: float = 0.1) -> torch.Tensor:
    """NPO (Zhang et al. 2024; anchors §1.2): ``L_f = −(2/β)·mean log σ(β·(NLL_θ(y|x) − NLL_ref(y|x)))``.

    Inputs are per-sequence summed NLLs ``(B,)``. Bounded: as NLL_θ grows the loss tends to 0.
    """
    return -(2.0 / beta) * F.logsigmoid(beta * (nll_theta - nll_ref)).mean()


def weighted_ascent_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *,
                         max_nll: float | None = None, rank_margin: float | None = None) -> torch.Tensor:
    """Fine-grained (token-weighted) gradient ascent, FPGA (Feng et al., EMNLP 2024; anchors §4).

    ``L_f = −Σ_t w_t · a_t · ℓ_t / Σ_t w_t`` with ``w_t`` from a discriminator of sensitive tokens (here:
    PII spans). ``weights`` is aligned with ``labels`` (``(B, T)``, the weight of *predicting* token t).
    The paper's exact weighting is unverified (anchors §4); the stopping rule ``a_t`` is our choice: a token
    is *done* (constant ``c``, no gradient) once ``ℓ_t ≥ c = max_nll``, and, when ``rank_margin = m`` is
    given, only if it also trails the best other token by ``m`` nats (``log p_θ(y_t) ≤ max_{v≠y_t} log
    p_θ(v) − m``). The cap bounds the ascent so it stops harming neighbouring knowledge once the personal
    token is gone; the rank condition is there because a low probability alone is not gone: measured on
    the small demo model, a house number at ``p ≈ e^{−3}`` was still the greedy choice when the other
    candidates were spread thin.
    """
    shift_logits, targets, mask = _shift(logits, labels)
    logp = F.log_softmax(shift_logits.float(), dim=-1)
    true = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    nll = -true
    w = weights[:, 1:].to(nll.dtype) * mask
    if max_nll is not None:
        done = nll >= max_nll
        if rank_margin is not None:
            runner_up = logp.scatter(-1, targets.unsqueeze(-1), float("-inf")).max(dim=-1).values
            done = done & (true <= runner_up - rank_margin)
        nll = torch.where(done, torch.full_like(nll, max_nll), nll)
    return -(w * nll).sum() / w.sum().clamp_min(1e-8)


def relearn_forget_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, *,
                        negative_ascent: float, max_nll: float) -> tuple[torch.Tensor, torch.Tensor]:
    """ReLearn's forget term with negatives: ``(CE_θ(x_f⁺), L_asc(x_f⁻))``; the caller adds ``λ_n·L_asc``.

    Rows without token weights are the positives (ReLearn's vague rewrites, anchors §2.1: plain ``CE_θ``);
    rows with weights are negatives, whose weighted tokens get the capped, rank-aware ascent of
    ``weighted_ascent_loss`` (a token-level form of the original answer as the negative of the reference
    implementation's ``relearn_dpo``). Either part is 0 when its rows are absent or ``negative_ascent`` is 0.
    """
    negative = (weights > 0).any(dim=1, keepdim=True)
    positive = cross_entropy(logits, labels.masked_fill(negative, IGNORE_INDEX))
    if not negative_ascent or not bool(negative.any()):
        return positive, torch.zeros((), dtype=positive.dtype, device=positive.device)
    ascent = weighted_ascent_loss(logits, labels, weights * negative, max_nll=max_nll, rank_margin=1.0)
    return positive, ascent


def answer_positions(labels: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` mask of the positions whose *next* token is labelled: where a model states an answer.

    Used as the KL mask on retain data so that the anchor sits on the answers (other people's values)
    rather than being averaged with the prompt positions, whose predictions unlearning barely moves."""
    return F.pad((labels[:, 1:] != IGNORE_INDEX).to(torch.long), (0, 1))


def kl_to_reference(logits: torch.Tensor, ref_logits: torch.Tensor,
                    attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """``KL(p_ref ‖ p_θ)`` per position, averaged over real (non-padding) positions (anchors §1.2, §2.1).

    OpenUnlearning averages over *all* positions including padding (anchors §1.8); we mask padding.
    """
    logp = F.log_softmax(logits.float(), dim=-1)
    logq_ref = F.log_softmax(ref_logits.float(), dim=-1)
    per_pos = (logq_ref.exp() * (logq_ref - logp)).sum(dim=-1)
    if attention_mask is None:
        return per_pos.mean()
    m = attention_mask.to(per_pos.dtype)
    return (per_pos * m).sum() / m.sum().clamp_min(1.0)


def inverted_hinge_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """IHL (Cha et al., ICLR 2025; anchors §3.1): ``mean_t max(0, 1 + p_θ(y_t) − max_{v≠y_t} p_θ(v))``.

    Bounded in [0, 2]; lowers the true token and raises the runner-up, which keeps fluency.
    """
    shift_logits, targets, mask = _shift(logits, labels)
    probs = F.softmax(shift_logits.float(), dim=-1)
    p_true = probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    others = probs.scatter(-1, targets.unsqueeze(-1), float("-inf"))
    p_runner_up = others.max(dim=-1).values
    hinge = (1.0 + p_true - p_runner_up).clamp_min(0.0)
    return (hinge * mask).sum() / mask.sum().clamp_min(1.0)
