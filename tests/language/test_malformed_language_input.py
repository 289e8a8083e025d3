"""Malformed input to the public callables of coursekit.language: a ``ValueError`` naming the
argument.

Each entry of ``CASES`` is (callable, keyword arguments with one malformed value, the name of
that argument); the call must raise a ``ValueError`` whose message starts with the name.
"""

from __future__ import annotations

import math

import pytest
import torch

from coursekit.language import decoding, ngrams

FITTED = ngrams.NGramModel(2, 3).fit([0, 1, 2, 0])
LOGITS = torch.tensor([[0.5, 1.0, -1.0], [2.0, 0.0, 0.1]])
INF, NAN = math.inf, math.nan

CASES = [
    # decoding
    (decoding.sample_token, {"logits": LOGITS, "temperature": -0.1}, "temperature"),
    (decoding.sample_token, {"logits": LOGITS, "temperature": NAN}, "temperature"),
    (decoding.sample_token, {"logits": LOGITS, "temperature": "hot"}, "temperature"),
    (decoding.sample_token, {"logits": LOGITS, "top_k": 0}, "top_k"),
    (decoding.sample_token, {"logits": LOGITS, "top_k": 2.0}, "top_k"),
    (decoding.sample_token, {"logits": LOGITS, "top_k": True}, "top_k"),
    (decoding.sample_token, {"logits": LOGITS, "top_p": 0.0}, "top_p"),
    (decoding.sample_token, {"logits": LOGITS, "top_p": 1.5}, "top_p"),
    (decoding.sample_token, {"logits": LOGITS, "top_p": NAN}, "top_p"),
    (decoding.sample_token, {"logits": LOGITS, "generator": 0}, "generator"),
    (decoding.sample_token, {"logits": torch.zeros(2, 3, 4)}, "logits"),
    (decoding.sample_token, {"logits": torch.zeros(0)}, "logits"),
    (decoding.sample_token, {"logits": torch.tensor([1.0, NAN])}, "logits"),
    (decoding.sample_token, {"logits": torch.tensor([1.0, INF])}, "logits"),
    (decoding.sample_token, {"logits": torch.tensor([-INF, -INF])}, "logits"),
    (decoding.sample_token, {"logits": torch.tensor([1j, 2j])}, "logits"),
    (decoding.sample_token, {"logits": "abc"}, "logits"),
    (decoding.next_token_probs, {"logits": LOGITS, "temperature": -1.0}, "temperature"),
    (decoding.next_token_probs, {"logits": LOGITS, "top_k": -3}, "top_k"),
    (decoding.next_token_probs, {"logits": LOGITS, "top_p": -0.5}, "top_p"),
    (decoding.top_k_filter, {"logits": LOGITS, "k": 0}, "k"),
    (decoding.top_k_filter, {"logits": [[1.0], [2.0, 3.0]], "k": 1}, "logits"),
    (decoding.top_p_filter, {"logits": LOGITS, "p": 0.0}, "p"),
    (decoding.top_p_filter, {"logits": LOGITS, "p": INF}, "p"),
    # n-gram models
    (ngrams.count_ngrams, {"tokens": "abc", "n": 0}, "n"),
    (ngrams.count_ngrams, {"tokens": 5, "n": 2}, "tokens"),
    (ngrams.NGramModel, {"n": 0, "vocab_size": 3}, "n"),
    (ngrams.NGramModel, {"n": 2, "vocab_size": 2.5}, "vocab_size"),
    (ngrams.NGramModel, {"n": 2, "vocab_size": 3, "alpha": -1.0}, "alpha"),
    (ngrams.NGramModel, {"n": 2, "vocab_size": 3, "lambdas": [0.5, 0.6]}, "lambdas"),
    (ngrams.NGramModel, {"n": 2, "vocab_size": 3, "lambdas": [1.0]}, "lambdas"),
    (ngrams.NGramModel, {"n": 2, "vocab_size": 3, "lambdas": "ab"}, "lambdas"),
    (ngrams.NGramModel(2, 3).fit, {"ids": [0, 3]}, "ids"),
    (ngrams.NGramModel(2, 3).fit, {"ids": [[0, 1]]}, "ids"),
    (ngrams.NGramModel(2, 3).fit, {"ids": [0.5, 1.0]}, "ids"),
    (FITTED.probs, {"context": []}, "context"),
    (FITTED.probs, {"context": [-1]}, "context"),
    (FITTED.count, {"ngram": [0, 1, 2]}, "ngram"),
    (FITTED.perplexity, {"ids": [0, 1, 2], "start": 0}, "start"),
    (FITTED.perplexity, {"ids": [0, 1, 2], "start": 3}, "start"),
    (FITTED.cross_entropy, {"ids": [0, 5]}, "ids"),
]


@pytest.mark.parametrize(("function", "kwargs", "name"), CASES,
                         ids=[f"{f.__name__}-{name}-{i}" for i, (f, _, name) in enumerate(CASES)])
def test_malformed_argument_raises_value_error_naming_it(function, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        function(**kwargs)
