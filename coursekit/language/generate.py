r"""Generate text with a Llama model: feed the prompt, pick a token, append it, repeat.

The chapter "Llama 2" (``docs/language/llama.md``) teaches it. Each new token is picked from
the logits of the last position by `coursekit.language.decoding.sample_token` (greedy at
temperature 0, otherwise sampled after temperature, top-k and top-p). Without a cache every
step runs the whole sequence again, $O(T)$ positions for the $T$-th token; with the
`KVCache` the prompt runs once (the *prefill*) and then each step runs one position, attending
to the cached keys and values. Both give the same tokens, up to float rounding in the logits.
"""

from __future__ import annotations

import torch

from coursekit._validation import (
    as_tensor,
    boolean,
    nonnegative,
    nonnegative_int,
    positive_int,
    real,
)
from coursekit.language.decoding import sample_token
from coursekit.language.llama import Llama

__all__ = ["generate"]


def _prompt(prompt, vocab_size: int) -> torch.Tensor:
    """``prompt`` as a ``(1, T)`` long tensor of tokens in ``[0, vocab_size)``, ``T >= 1``."""
    if isinstance(prompt, (list, tuple)) and not prompt:  # would arrive as float32
        raise ValueError("prompt must be one non-empty sequence, got an empty list")
    ids = as_tensor(prompt, "prompt")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"prompt must be integer token ids, got dtype {ids.dtype}")
    if ids.ndim == 1:
        ids = ids[None]
    if ids.ndim != 2 or ids.shape[0] != 1 or ids.shape[1] == 0:
        raise ValueError(f"prompt must be one non-empty sequence, (T,) or (1, T), got shape "
                         f"{tuple(as_tensor(prompt, 'prompt').shape)}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"prompt must be tokens in [0, {vocab_size}), got values from "
                         f"{int(ids.min())} to {int(ids.max())}")
    return ids.long()


@torch.no_grad()
def generate(
    model: Llama,
    prompt,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    use_cache: bool = True,
    generator: torch.Generator | None = None,
):
    """The prompt followed by ``max_new_tokens`` tokens that ``model`` picks one at a time.

    Args:
        model: a `Llama`.
        prompt: token ids: a list of ints, a 1-D ``LongTensor`` ``(T,)`` or ``(1, T)``.
        max_new_tokens: how many tokens to add; the prompt and they must fit in the model's
            ``max_seq_len``.
        temperature: 0 for greedy decoding (the most likely token), otherwise the sampling
            temperature.
        top_k: sample only among the ``top_k`` most likely tokens; ``None`` for all.
        top_p: sample only from the nucleus of mass ``top_p``; ``None`` for all.
        use_cache: run the prompt once and then one position per token (a `KVCache`),
            instead of the whole sequence at every step.
        generator: a ``torch.Generator`` for reproducible draws.

    Returns:
        The prompt followed by the new tokens, in the prompt's kind: a list of ints for a
            list, a ``LongTensor`` of the prompt's dimensions (``(T + n,)`` or ``(1, T + n)``)
            for a tensor.

    Raises:
        ValueError: naming the argument, if ``model`` is not a `Llama`, ``prompt`` is not one
            non-empty sequence of the model's tokens, ``max_new_tokens`` is negative or does
            not fit in ``max_seq_len``, or a decoding setting is malformed (as in
            `sample_token`).

    Examples:
        >>> import torch
        >>> from coursekit.language.generate import generate
        >>> from coursekit.language.llama import Llama, LlamaConfig
        >>> _ = torch.manual_seed(0)
        >>> model = Llama(LlamaConfig(50, 32, n_layers=2, n_heads=4, hidden_dim=64))
        >>> out = generate(model, [1, 2, 3], max_new_tokens=5)
        >>> len(out), out[:3]
        (8, [1, 2, 3])
        >>> out == generate(model, [1, 2, 3], 5, use_cache=False)
        True
    """
    if not isinstance(model, Llama):
        raise ValueError(f"model must be a coursekit Llama, got {type(model).__name__}")
    ids = _prompt(prompt, model.config.vocab_size)  # (1, T)
    n = nonnegative_int(max_new_tokens, "max_new_tokens")
    nonnegative(temperature, "temperature")
    if top_k is not None:
        positive_int(top_k, "top_k")
    if top_p is not None:
        real(top_p, "top_p", minimum=0.0, maximum=1.0, open_minimum=True)
    use_cache = boolean(use_cache, "use_cache")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator or None, "
                         f"got {type(generator).__name__}")
    total, limit = ids.shape[1] + n, model.config.max_seq_len
    if total > limit:
        raise ValueError(f"max_new_tokens must fit with the prompt in max_seq_len = {limit}, "
                         f"got {ids.shape[1]} + {n}")
    settings = {"temperature": temperature, "top_k": top_k, "top_p": top_p,
                "generator": generator}
    cache = model.make_cache(1, total) if use_cache and n else None
    new = ids  # what the next forward pass reads
    for _ in range(n):
        start = ids.shape[1] - new.shape[1]
        logits = model(new, cache, start) if cache is not None else model(ids)
        token = sample_token(logits[:, -1], **settings)  # (1,)
        ids = torch.cat([ids, token[:, None]], dim=1)  # (1, T + 1)
        new = token[:, None] if cache is not None else ids
    if isinstance(prompt, (list, tuple)):
        return ids[0].tolist()
    return ids[0] if as_tensor(prompt, "prompt").ndim == 1 else ids
