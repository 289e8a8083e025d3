r"""n-gram language models: counts, add-alpha smoothing, interpolation and perplexity.

The chapter "n-gram models" (``docs/language/ngrams.md``) teaches what this module implements.
An n-gram model predicts token $w_t$ from the $n - 1$ tokens before it, $h = w_{t-n+1:t-1}$,
by counting how often each continuation followed $h$ in a training sequence:

$$
p_\alpha(w \mid h) = \frac{c(h, w) + \alpha}{c(h) + \alpha V},
$$

with $c(h, w)$ the count of the n-gram $(h, w)$, $c(h) = \sum_w c(h, w)$ and $V$ the
vocabulary size. $\alpha = 0$ is the maximum-likelihood estimate, which gives every unseen
n-gram probability 0; $\alpha = 1$ is Laplace's add-one rule. Interpolation (Jelinek and Mercer
1980, "Interpolated estimation of Markov source parameters from sparse data") mixes the orders,
$p(w \mid h) = \sum_{m=1}^{n} \lambda_m\, p_\alpha^{(m)}(w \mid h_{-(m-1):})$ with
$\lambda_m \ge 0$ summing to 1, the order-$m$ estimate using the last $m - 1$ tokens of $h$.

Tokens are integer ids in $[0, V)$. A model is scored by its cross entropy in bits per token on
held-out ids and by its perplexity $2^H$ (see the information theory chapter).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import torch

from coursekit._validation import (
    as_tensor,
    class_indices,
    integer,
    nonnegative,
    positive_int,
    real,
)

__all__ = ["count_ngrams", "NGramModel"]


def count_ngrams(tokens: Sequence[Hashable], n: int) -> Counter:
    """How often each run of ``n`` consecutive tokens occurs: the definition, in plain Python.

    Args:
        tokens: a sequence of hashable tokens (characters of a string, words, ids).
        n: the length of the runs, a positive integer.

    Returns:
        A ``Counter`` from each n-gram (a tuple of ``n`` tokens) to its count; there are
            ``len(tokens) - n + 1`` n-grams in all (none if the sequence is shorter than ``n``).

    Raises:
        ValueError: if ``tokens`` is not a sequence or ``n`` is not a positive integer.

    Examples:
        >>> from coursekit.language.ngrams import count_ngrams
        >>> count_ngrams("abab", 2)
        Counter({('a', 'b'): 2, ('b', 'a'): 1})
    """
    n = positive_int(n, "n")
    if not isinstance(tokens, Sequence):
        raise ValueError(f"tokens must be a sequence, got {type(tokens).__name__}")
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


# The counting is done in NumPy: on small integer arrays its arithmetic and sort are several
# times faster than torch's on one core.


def _keys(w: np.ndarray, vocab_size: int) -> np.ndarray:
    """Each row of ids ``(N, m)`` as one integer in base ``vocab_size``: ``(N,)``."""
    keys = np.zeros(len(w), dtype=np.int64)
    for j in range(w.shape[1]):  # Horner's rule
        keys = keys * vocab_size + w[:, j]
    return keys


def _windows(ids: np.ndarray, m: int) -> np.ndarray:
    """The runs of ``m`` consecutive ids: ``(len(ids) - m + 1, m)``."""
    return np.lib.stride_tricks.sliding_window_view(ids, m)


def _table(ids: np.ndarray, m: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The m-grams of ``ids`` as sorted keys and their counts."""
    if len(ids) < m:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.unique(_keys(_windows(ids, m), vocab_size), return_counts=True)


def _lookup(table: tuple[np.ndarray, np.ndarray], query: np.ndarray) -> np.ndarray:
    """The counts of the keys ``query`` in ``table`` (0 for keys not there), as float64."""
    keys, counts = table
    if len(keys) == 0:
        return np.zeros(len(query))
    i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[i] == query, counts[i], 0).astype(np.float64)


class NGramModel:
    r"""An n-gram model over ids $[0, V)$ with add-$\alpha$ smoothing and interpolation.

    Call `fit` on a training sequence; then `probs` gives the next-token distribution after a
    context, `cross_entropy` and `perplexity` score a held-out sequence.

    Args:
        n: the order: each token is predicted from the $n - 1$ before it (1 is a unigram model,
            2 a bigram model).
        vocab_size: $V$, the number of token ids.
        alpha: $\alpha \ge 0$, the pseudo-count added to every n-gram (0: no smoothing).
        lambdas: $\lambda_1, \dots, \lambda_n$, nonnegative and summing to 1, the weights of the
            orders 1 to $n$ in the interpolation; ``None`` for order $n$ alone.

    Raises:
        ValueError: naming the argument, if ``n`` or ``vocab_size`` is not a positive integer,
            $V^n$ does not fit in 63 bits, ``alpha`` is negative or ``lambdas`` is not $n$
            nonnegative weights summing to 1.

    Examples:
        >>> import torch
        >>> from coursekit.language.ngrams import NGramModel
        >>> ids = torch.tensor([0, 1, 0, 1, 0, 2])
        >>> bigram = NGramModel(2, vocab_size=3).fit(ids)
        >>> bigram.count((0, 1)), bigram.probs(torch.tensor([0])).tolist()
        (2, [0.0, 0.6666666666666666, 0.3333333333333333])
        >>> bigram.perplexity(torch.tensor([0, 1, 1]))  # (1, 1) was never seen
        inf
        >>> smoothed = NGramModel(2, vocab_size=3, alpha=1.0).fit(ids)
        >>> round(smoothed.perplexity(torch.tensor([0, 1, 1])), 4)
        3.1623
    """

    def __init__(self, n: int, vocab_size: int, alpha: float = 0.0,
                 lambdas: Sequence[float] | None = None):
        self.n = positive_int(n, "n")
        self.vocab_size = positive_int(vocab_size, "vocab_size")
        if self.vocab_size ** self.n >= 2**63:
            raise ValueError(f"vocab_size ** n must be below 2**63, got {vocab_size} ** {n}")
        self.alpha = nonnegative(alpha, "alpha")
        if lambdas is None:
            self.lambdas = (0.0,) * (self.n - 1) + (1.0,)
        else:
            weights = [] if isinstance(lambdas, str) else list(lambdas)
            try:
                weights = [real(w, "lambdas", minimum=0.0) for w in weights]
            except ValueError:
                weights = []
            if len(weights) != self.n or abs(sum(weights) - 1) > 1e-9:
                raise ValueError(f"lambdas must be {self.n} nonnegative weights summing to 1 "
                                 f"(orders 1 to n), got {lambdas!r}")
            self.lambdas = tuple(weights)
        self.tables: list[tuple[np.ndarray, np.ndarray]] | None = None

    def _ids(self, ids, name: str) -> np.ndarray:
        t = as_tensor(ids, name)
        if t.numel() == 0 and t.is_floating_point():  # [] is read as float
            t = t.long()
        if t.ndim != 1:
            raise ValueError(f"{name} must be a 1-D sequence of ids, got shape {tuple(t.shape)}")
        return class_indices(t, name, num_classes=self.vocab_size).numpy()

    def fit(self, ids: torch.Tensor | Sequence[int]) -> NGramModel:
        """Count the m-grams of ``ids`` for every order m up to n (and their contexts).

        Args:
            ids: the training sequence, 1-D ids in $[0, V)$.

        Returns:
            The model itself, fitted.

        Raises:
            ValueError: if ``ids`` is not a 1-D sequence of ids in $[0, V)$.
        """
        ids = self._ids(ids, "ids")
        # tables[m - 1] counts m-grams; contexts[m] counts m-grams followed by a token, c(h)
        self.tables = [_table(ids, m, self.vocab_size) for m in range(1, self.n + 1)]
        empty = (np.zeros(1, dtype=np.int64), np.array([len(ids)]))  # h = (), before each token
        self.contexts = [empty] + [_table(ids[:-1], m, self.vocab_size) for m in range(1, self.n)]
        return self

    def _fitted(self) -> None:
        if self.tables is None:
            raise ValueError("model must be fitted first: call fit(ids)")

    def count(self, ngram: Sequence[int]) -> int:
        """The count of ``ngram`` (a tuple of 1 to n ids) in the training sequence.

        Raises:
            ValueError: if the model is not fitted or ``ngram`` is not 1 to n ids.
        """
        self._fitted()
        t = self._ids(ngram, "ngram")
        if not 1 <= len(t) <= self.n:
            raise ValueError(f"ngram must hold 1 to {self.n} ids, got {len(t)}")
        return int(_lookup(self.tables[len(t) - 1], _keys(t[None], self.vocab_size))[0])

    def _probs(self, windows: np.ndarray) -> np.ndarray:
        """p(w | h) for rows (h, w) of ``windows`` ``(N, n)``, interpolated: ``(N,)`` float64."""
        total = np.zeros(len(windows))
        V, alpha = self.vocab_size, self.alpha
        for m, weight in enumerate(self.lambdas, start=1):
            if weight == 0:
                continue
            w = windows[:, self.n - m:]  # (N, m): the last m - 1 context ids and the token
            joint = _lookup(self.tables[m - 1], _keys(w, V))
            context = _lookup(self.contexts[m - 1], _keys(w[:, :-1], V))
            denominator = context + alpha * V
            p = (joint + alpha) / np.maximum(denominator, 1e-300)  # 0 where nothing was seen
            total += weight * p
        return total

    def probs(self, context: torch.Tensor | Sequence[int]) -> torch.Tensor:
        r"""The distribution of the next token after ``context``: ``(V,)`` float64.

        Args:
            context: at least $n - 1$ ids; the last $n - 1$ are used.

        Returns:
            $p(w \mid h)$ for every $w$; all zeros when the context was never seen and
                nothing smooths (``alpha=0`` and no weight on lower orders).

        Raises:
            ValueError: if the model is not fitted, or ``context`` is not 1-D ids with at least
                $n - 1$ of them.
        """
        self._fitted()
        h = self._ids(context, "context")
        if len(h) < self.n - 1:
            raise ValueError(f"context must hold at least n - 1 = {self.n - 1} ids, got {len(h)}")
        h = h[len(h) - (self.n - 1):]
        windows = np.empty((self.vocab_size, self.n), dtype=np.int64)
        windows[:, :-1], windows[:, -1] = h, np.arange(self.vocab_size)  # (V, n)
        return torch.from_numpy(self._probs(windows))

    def cross_entropy(self, ids: torch.Tensor | Sequence[int], start: int | None = None) -> float:
        r"""The cross entropy in bits per token of ``ids[start:]``, each token given the
        $n - 1$ before it: $H = -\frac{1}{T - s} \sum_{t=s}^{T-1} \log_2 p(w_t \mid h_t)$.

        Args:
            ids: a held-out sequence, 1-D ids.
            start: the first position scored, at least $n - 1$ (the tokens before it are
                context only); ``None`` for $n - 1$. Give models of different orders the same
                ``start`` to score them on the same tokens.

        Returns:
            $H$ in bits; ``inf`` if some scored token has probability 0.

        Raises:
            ValueError: if the model is not fitted, ``ids`` is not 1-D ids in $[0, V)$, or
                ``start`` is below $n - 1$ or leaves no token to score.
        """
        self._fitted()
        ids = self._ids(ids, "ids")
        start = self.n - 1 if start is None else integer(start, "start")
        if start < self.n - 1 or start >= len(ids):
            raise ValueError(f"start must be in [n - 1, len(ids)) = [{self.n - 1}, {len(ids)}), "
                             f"got {start}")
        windows = _windows(ids, self.n)[start - (self.n - 1):]  # (T - start, n)
        p = self._probs(windows)
        if bool((p == 0).any()):
            return math.inf
        return float(-np.log2(p).mean())

    def perplexity(self, ids: torch.Tensor | Sequence[int], start: int | None = None) -> float:
        """The perplexity $2^H$ of ``ids[start:]``, with $H$ from `cross_entropy` (same
        arguments): the number of equally likely tokens that would be as hard to guess.

        Raises:
            ValueError: as `cross_entropy`.
        """
        return 2.0 ** self.cross_entropy(ids, start)
