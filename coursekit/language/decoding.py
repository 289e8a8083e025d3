r"""Decoding: turn a language model's next-token logits into a token, greedily or by sampling.

The chapter "Decoding" (``docs/language/decoding.md``) teaches what this module implements.
A model gives logits $z \in \mathbb{R}^V$ over a vocabulary of $V$ tokens; decoding picks the
next token from them. Greedy decoding takes $\arg\max_i z_i$; sampling draws from
$\operatorname{softmax}(z / T)$ at a temperature $T > 0$, optionally restricted to the $k$ most
likely tokens (top-k) or to the smallest set of most likely tokens whose probability reaches
$p$ (nucleus, top-p; Holtzman et al. 2020, "The curious case of neural text degeneration").
The order of the steps is the one Hugging Face transformers uses: temperature, then top-k,
then top-p (so that top-p sees the tempered distribution).

Every function takes logits of shape ``(V,)`` or ``(B, V)`` (one row per sequence). Logits may
hold ``-inf`` (a token ruled out) but not ``nan`` or ``+inf``, and each row needs at least one
finite logit; anything else raises a ``ValueError`` naming the argument.
"""

from __future__ import annotations

import torch

from coursekit._validation import as_real_float, nonnegative, positive_int, real

__all__ = ["top_k_filter", "top_p_filter", "next_token_probs", "sample_token"]


def _logits(logits) -> torch.Tensor:
    """``logits`` as a ``(V,)`` or ``(B, V)`` float tensor (half precision computed in float32),
    each row with a finite logit and none ``nan`` or ``+inf``."""
    z = as_real_float(logits, "logits")
    if z.ndim not in (1, 2) or z.numel() == 0:
        raise ValueError(f"logits must be a non-empty (V,) or (B, V) tensor, "
                         f"got shape {tuple(z.shape)}")
    z = z.to(torch.promote_types(z.dtype, torch.float32))
    if bool(torch.isnan(z).any()) or bool((z == float("inf")).any()):
        raise ValueError("logits must not hold nan or +inf (-inf rules a token out)")
    if not bool(torch.isfinite(z).any(dim=-1).all()):
        raise ValueError("logits must have at least one finite entry in each row, "
                         "got a row of -inf")
    return z


def _top_k(top_k) -> int | None:
    return None if top_k is None else positive_int(top_k, "top_k")


def _top_p(top_p) -> float | None:
    return None if top_p is None else real(top_p, "top_p", minimum=0.0, maximum=1.0,
                                           open_minimum=True)


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    r"""Keep the ``k`` largest logits of each row; set the others to $-\infty$.

    A token survives when its logit is at least the $k$-th largest of its row,
    $z_i \ge z_{(k)}$, so tokens tied with the $k$-th one all survive (more than ``k`` may; the
    result does not depend on how a sort orders equal values), as in transformers'
    ``TopKLogitsWarper``. A ``k`` above the vocabulary size keeps everything.

    Args:
        logits: ``(V,)`` or ``(B, V)``.
        k: how many tokens to keep, a positive integer.

    Returns:
        The filtered logits, same shape.

    Raises:
        ValueError: naming the argument, if ``logits`` is malformed (see the module) or ``k``
            is not a positive integer.

    Examples:
        >>> import torch
        >>> from coursekit.language.decoding import top_k_filter
        >>> top_k_filter(torch.tensor([1.0, 3.0, 2.0, 0.0]), 2)
        tensor([-inf, 3., 2., -inf])
    """
    z, k = _logits(logits), positive_int(k, "k")
    kth = z.topk(min(k, z.shape[-1]), dim=-1).values[..., -1:]  # (..., 1)
    return z.masked_fill(z < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    r"""Nucleus filtering: keep the smallest set of most likely tokens whose probability
    reaches ``p``; set the others to $-\infty$.

    With the probabilities $\pi = \operatorname{softmax}(z)$ sorted in decreasing order,
    $\pi_{(1)} \ge \pi_{(2)} \ge \dots$, the token of rank $j$ is kept when the mass ranked
    before it is below $p$, $\sum_{i < j} \pi_{(i)} < p$: the most likely token is always kept,
    and so is the boundary token that makes the mass reach $p$ (the kept mass is at least $p$).
    The same rule as transformers' ``TopPLogitsWarper``. Tokens tied in probability with the
    last kept one are kept too, so that the result does not depend on how a sort orders equal
    values (for tie-free logits, exactly the smallest set). ``p = 1`` keeps them all (as
    transformers does, which then skips the filter).

    Args:
        logits: ``(V,)`` or ``(B, V)``.
        p: the mass to reach, in $(0, 1]$.

    Returns:
        The filtered logits, same shape.

    Raises:
        ValueError: naming the argument, if ``logits`` is malformed (see the module) or ``p``
            is not in $(0, 1]$.

    Examples:
        >>> import torch
        >>> from coursekit.language.decoding import top_p_filter
        >>> logits = torch.tensor([0.5, 0.3, 0.15, 0.05]).log()
        >>> top_p_filter(logits, 0.7).isfinite()  # 0.5 < 0.7, 0.5 + 0.3 reaches it
        tensor([ True,  True, False, False])
    """
    z, p = _logits(logits), real(p, "p", minimum=0.0, maximum=1.0, open_minimum=True)
    if p == 1:  # a cumulative sum may round below 1 and would drop the least likely tokens
        return z
    probs = z.softmax(dim=-1)
    sorted_probs = probs.sort(dim=-1, descending=True).values  # (..., V)
    before = sorted_probs.cumsum(dim=-1) - sorted_probs  # mass ranked before each token
    kept = before < p
    kept[..., 0] = True
    last_kept = sorted_probs.masked_fill(~kept, float("inf")).amin(dim=-1, keepdim=True)
    return z.masked_fill(probs < last_kept, float("-inf"))


def next_token_probs(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    r"""The distribution `sample_token` draws from: $\operatorname{softmax}(z / T)$ after the
    top-k and top-p filters.

    At $T = 0$ it is the one-hot distribution of the greedy choice $\arg\max_i z_i$ (the first
    one, if several tie), the limit of $\operatorname{softmax}(z / T)$ as $T \to 0$ for a
    unique maximum.

    Args:
        logits: ``(V,)`` or ``(B, V)``.
        temperature: $T \ge 0$; below 1 sharpens the distribution, above 1 flattens it.
        top_k: keep only the ``top_k`` most likely tokens (see `top_k_filter`); ``None`` for all.
        top_p: keep only the nucleus of mass ``top_p`` (see `top_p_filter`), computed after the
            temperature; ``None`` for all.

    Returns:
        Probabilities, same shape as ``logits``, each row summing to 1.

    Raises:
        ValueError: naming the argument, if ``logits`` is malformed, ``temperature`` is
            negative (or not a finite number), ``top_k`` is not a positive integer or ``top_p``
            is not in $(0, 1]$.

    Examples:
        >>> import torch
        >>> from coursekit.language.decoding import next_token_probs
        >>> logits = torch.tensor([2.0, 1.0, 0.0])
        >>> next_token_probs(logits, temperature=0.0)
        tensor([1., 0., 0.])
        >>> next_token_probs(logits, top_k=2).round(decimals=4)
        tensor([0.7311, 0.2689, 0.0000])
    """
    z = _logits(logits)
    temperature = nonnegative(temperature, "temperature")
    top_k, top_p = _top_k(top_k), _top_p(top_p)
    if temperature == 0:
        return torch.nn.functional.one_hot(z.argmax(dim=-1), z.shape[-1]).to(z.dtype)
    z = z / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    return z.softmax(dim=-1)


def sample_token(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Pick the next token from logits: greedy at ``temperature=0``, otherwise a draw from
    `next_token_probs` (temperature, then top-k, then top-p).

    Args:
        logits: ``(V,)`` for one sequence or ``(B, V)`` for a batch.
        temperature: $T \ge 0$; 0 is greedy decoding ($\arg\max$, no randomness).
        top_k: sample only among the ``top_k`` most likely tokens; ``None`` for all.
        top_p: sample only from the nucleus of mass ``top_p`` in $(0, 1]$; ``None`` for all.
        generator: a ``torch.Generator`` for reproducible draws; ``None`` for the global one.

    Returns:
        Token ids as a ``torch.long`` tensor: shape ``()`` for ``(V,)`` logits, ``(B,)`` for
            ``(B, V)``.

    Raises:
        ValueError: naming the argument, if ``logits`` is malformed (see the module),
            ``temperature`` is negative, ``top_k`` is not a positive integer, ``top_p`` is not
            in $(0, 1]$ or ``generator`` is not a ``torch.Generator``.

    Examples:
        >>> import torch
        >>> from coursekit.language.decoding import sample_token
        >>> logits = torch.tensor([[0.1, 2.0, 0.3], [1.0, 0.0, 5.0]])
        >>> sample_token(logits, temperature=0.0)
        tensor([1, 2])
        >>> generator = torch.Generator().manual_seed(0)
        >>> sample_token(logits[0], top_k=1, generator=generator)  # top-1 is greedy
        tensor(1)
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, "
                         f"got {type(generator).__name__}")
    probs = next_token_probs(logits, temperature, top_k, top_p)
    if nonnegative(temperature, "temperature") == 0:
        return probs.argmax(dim=-1)
    rows = probs.reshape(-1, probs.shape[-1])  # (B, V)
    ids = torch.multinomial(rows, 1, generator=generator)  # (B, 1)
    return ids.reshape(probs.shape[:-1])
