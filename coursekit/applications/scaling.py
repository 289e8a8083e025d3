r"""Learning curves: test error against the number of training examples.

The case for deep learning rests partly on how it scales: given more data, a model with more
capacity keeps improving after a simpler one has levelled off (Banko and Brill, 2001, "Scaling
to very very large corpora for natural language disambiguation"; Hestness et al., 2017, "Deep
learning scaling is predictable, empirically", who find test error falling as a power of the
training-set size, $\varepsilon(n) \approx a\, n^{-b}$). A learning curve measures it: train the
same model on the first $n$ examples for several $n$ and evaluate each on the same test set.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    classifier_batch,
    function,
    integer,
    integer_sequence,
    positive,
    positive_int,
)

__all__ = ["learning_curve"]


@contextlib.contextmanager
def _global_seed(seed: int) -> Iterator[None]:
    """Seed torch's global CPU generator for the block, and put its state back afterwards
    (``torch.manual_seed`` would do too, but records a stack trace on every call)."""
    state = torch.get_rng_state()
    torch.default_generator.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_rng_state(state)


def learning_curve(build, x, y, x_test, y_test, sizes, *, steps: int = 100, lr: float = 0.02,
                   seed: int = 0) -> list[float]:
    r"""The test error of a model trained on the first $n$ examples, for each $n$ in ``sizes``.

    The model is built once by ``build()``, with torch's global generator seeded by ``seed``;
    for each size a copy of it (the same initial weights every time) is trained by full-batch
    Adam for ``steps`` steps on the cross entropy of ``x[:n]``, ``y[:n]``, and scored in eval
    mode on the whole test set: error $= \frac{1}{M} \sum_j [\arg\max_k f(x'_j)_k \ne y'_j]$. The
    caller's random state is put back afterwards. Take the first $n$ of a shuffled training set, as
    ``coursekit.training.data.load_digits`` returns it, so that each prefix is a random subset.

    Args:
        build: called with no arguments, returns a fresh classifier (an ``nn.Module`` from
            inputs ``(N, ...)`` to logits ``(N, K)``).
        x: training inputs ``(N, ...)``; NumPy arrays and lists are converted to the dtype of
            the model's parameters.
        y: their classes, ``N`` integers in ``[0, K)``.
        x_test: test inputs ``(M, ...)``.
        y_test: their classes.
        sizes: the training-set sizes $n$, positive integers up to ``N``.
        steps: Adam steps per size (each on the whole prefix).
        lr: Adam's learning rate.
        seed: seeds the initial weights.

    Returns:
        The test error for each size, in the order of ``sizes``.

    Raises:
        TypeError: if ``build`` is not callable.
        ValueError: naming the argument, if ``build`` does not make a classifier that takes
            the inputs, the inputs or classes are not batches for it, a size is not an integer
            in ``[1, N]``, ``steps`` is not a positive integer, ``lr`` is not positive or
            ``seed`` is not an integer.

    Examples:
        >>> import torch
        >>> from coursekit.applications.scaling import learning_curve
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(400, 2, generator=g)
        >>> y = (x[:, 0] > 0).long()  # a linear rule
        >>> errors = learning_curve(lambda: torch.nn.Linear(2, 2), x[:200], y[:200],
        ...                         x[200:], y[200:], [4, 200], steps=50, lr=0.1)
        >>> len(errors), bool(errors[1] < 0.05)
        (2, True)
    """
    build = function(build, "build")
    seed = integer(seed, "seed")
    with _global_seed(seed):
        try:
            initial = build()
        except TypeError as err:  # a callable that wants arguments, such as a model itself
            raise TypeError(f"build must be callable with no arguments: {err}") from err
    if not isinstance(initial, nn.Module):
        raise ValueError(f"build must return a torch.nn.Module, got {type(initial).__name__}")
    initial.eval()  # checking the inputs must not move batch-norm statistics
    built = "the model that build makes"  # named so that an error points at build
    x, y = classifier_batch(initial, x, y, "x", "y", built)
    x_test, y_test = classifier_batch(initial, x_test, y_test, "x_test", "y_test", built)
    sizes = integer_sequence(sizes, "sizes", f"a list of sizes in [1, {len(x)}]", min_length=1)
    if max(sizes) > len(x):
        raise ValueError(f"sizes must be at most the {len(x)} training examples, got {max(sizes)}")
    steps, lr = positive_int(steps, "steps"), positive(lr, "lr")
    errors = []
    for n in sizes:
        model = copy.deepcopy(initial).train()
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)  # faster on CPU
        with _global_seed(seed):  # dropout draws the same masks for every size
            for _ in range(steps):
                loss = F.cross_entropy(model(x[:n]), y[:n])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            model.eval()  # dropout off, batch norm on its running statistics
            errors.append((model(x_test).argmax(dim=1) != y_test).double().mean().item())
    return errors
