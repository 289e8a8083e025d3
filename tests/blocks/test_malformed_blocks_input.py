"""Malformed input to the public callables of coursekit.blocks: a ValueError naming the argument.

The cheap sibling of ``tests/maths/test_malformed_maths_input.py``: no hypothesis, one list of
cases ``(callable, keyword arguments, the argument whose value is malformed)``. Each call must
raise a ``ValueError`` whose message names that argument; any other exception (an
``IndexError`` from inside, a ``RuntimeError`` from torch) or none fails the test. Add a block's
cases under its own heading.
"""

from __future__ import annotations

import re

import pytest
import torch

from coursekit.blocks import convolution, initialization, normalization, resnet
from coursekit.blocks.attention import MultiHeadAttention, TransformerBlock
from coursekit.blocks.attention import scaled_dot_product_attention as sdpa
from coursekit.blocks.optimizers import SGD, Adagrad, Adam, AdamW, RMSprop
from coursekit.blocks.positions import apply_rotary, sinusoidal_positions
from coursekit.blocks.regularization import Dropout, bias_variance, dropout, random_shift
from coursekit.blocks.schedules import warmup_cosine

X = torch.randn(4, 3)  # (N, C)
W = torch.empty(5, 3)  # a weight (out, in)
Q, K, V = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 6)  # attention
P = torch.nn.Parameter(torch.ones(2))  # a parameter to optimize

CASES = [
    # ---- normalization ------------------------------------------------------------------------
    (normalization.batch_norm, {"x": torch.randn(3)}, "x"),
    (normalization.batch_norm, {"x": torch.randn(1, 3)}, "x"),  # one value per channel
    (normalization.batch_norm, {"x": "abc"}, "x"),
    (normalization.batch_norm, {"x": torch.randn(4, 3, dtype=torch.complex64)}, "x"),
    (normalization.batch_norm, {"x": X, "weight": torch.ones(4)}, "weight"),
    (normalization.batch_norm, {"x": X, "bias": torch.ones(3, 1)}, "bias"),
    (normalization.batch_norm, {"x": X, "eps": -1e-5}, "eps"),
    (normalization.batch_norm, {"x": X, "eps": float("nan")}, "eps"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 4}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": (4, 3, 1)}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 0}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 3.0}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": "3"}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": []}, "normalized_shape"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 3, "weight": torch.ones(4)},
     "weight"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 3, "bias": torch.ones(4, 3)},
     "bias"),
    (normalization.layer_norm, {"x": X, "normalized_shape": 3, "eps": True}, "eps"),
    (normalization.layer_norm, {"x": None, "normalized_shape": 3}, "x"),
    (normalization.rms_norm, {"x": torch.tensor(1.0)}, "x"),
    (normalization.rms_norm, {"x": torch.empty(3, 0)}, "x"),
    (normalization.rms_norm, {"x": X, "weight": torch.ones(4)}, "weight"),
    (normalization.rms_norm, {"x": X, "eps": -1.0}, "eps"),
    (normalization.BatchNorm, {"num_features": 0}, "num_features"),
    (normalization.BatchNorm, {"num_features": 3.0}, "num_features"),
    (normalization.BatchNorm, {"num_features": 3, "eps": -1.0}, "eps"),
    (normalization.BatchNorm, {"num_features": 3, "momentum": 1.5}, "momentum"),
    (normalization.BatchNorm(4), {"x": X}, "x"),  # 3 channels for 4 features
    (normalization.BatchNorm(3), {"x": X[:1]}, "x"),  # training on one example
    (normalization.RMSNorm, {"dim": -2}, "dim"),
    (normalization.RMSNorm, {"dim": 3, "eps": float("inf")}, "eps"),
    (normalization.RMSNorm(4), {"x": X}, "x"),
    # ---- initialization -----------------------------------------------------------------------
    (initialization.fan_in_and_fan_out, {"tensor": torch.empty(5)}, "tensor"),
    (initialization.fan_in_and_fan_out, {"tensor": [[1.0, 2.0]]}, "tensor"),
    (initialization.xavier_std, {"fan_in": 0, "fan_out": 3}, "fan_in"),
    (initialization.xavier_std, {"fan_in": 3, "fan_out": 2.5}, "fan_out"),
    (initialization.xavier_std, {"fan_in": 3, "fan_out": 3, "gain": 0.0}, "gain"),
    (initialization.kaiming_std, {"fan_in": True}, "fan_in"),
    (initialization.kaiming_std, {"fan_in": 3, "gain": -1.0}, "gain"),
    (initialization.xavier_normal_, {"tensor": torch.empty(5)}, "tensor"),
    (initialization.xavier_normal_, {"tensor": torch.empty(0, 3)}, "tensor"),
    (initialization.xavier_uniform_, {"tensor": torch.empty(5, 3, dtype=torch.long)},
     "tensor"),
    (initialization.xavier_uniform_, {"tensor": W, "gain": float("nan")}, "gain"),
    (initialization.kaiming_normal_, {"tensor": W, "mode": "fan_avg"}, "mode"),
    (initialization.kaiming_normal_, {"tensor": W, "gain": "relu"}, "gain"),
    (initialization.kaiming_uniform_, {"tensor": torch.empty(3, 0, 2)}, "tensor"),
    (initialization.kaiming_uniform_, {"tensor": W, "mode": None}, "mode"),
    (initialization.activation_scales, {"x": torch.randn(8), "depth": 3, "weight_std": 0.1},
     "x"),
    (initialization.activation_scales, {"x": X, "depth": 0, "weight_std": 0.1}, "depth"),
    (initialization.activation_scales, {"x": X, "depth": 3, "weight_std": -0.1},
     "weight_std"),
    # ---- attention and positions --------------------------------------------------------------
    (sdpa, {"q": torch.randn(4), "k": K, "v": V}, "q"),
    (sdpa, {"q": "abc", "k": K, "v": V}, "q"),
    (sdpa, {"q": Q.to(torch.complex64), "k": K, "v": V}, "q"),
    (sdpa, {"q": Q, "k": torch.randn(2, 5, 3), "v": V}, "k"),  # another E
    (sdpa, {"q": Q, "k": K, "v": torch.randn(2, 4, 6)}, "v"),  # another S
    (sdpa, {"q": Q, "k": torch.randn(3, 5, 4), "v": V}, "k"),  # batches do not broadcast
    (sdpa, {"q": Q, "k": K, "v": V.double()}, "v"),
    (sdpa, {"q": Q, "k": K, "v": V, "attn_mask": torch.ones(3, 4, dtype=torch.bool)},
     "attn_mask"),
    (sdpa, {"q": Q, "k": K, "v": V, "attn_mask": torch.ones(3, 5, dtype=torch.long)},
     "attn_mask"),
    (sdpa, {"q": Q, "k": K, "v": V, "attn_mask": "abc"}, "attn_mask"),
    (sdpa, {"q": Q, "k": K, "v": V, "is_causal": 1}, "is_causal"),
    (sdpa, {"q": Q, "k": K, "v": V, "is_causal": True, "attn_mask": torch.zeros(3, 5)},
     "is_causal"),
    (sdpa, {"q": Q, "k": K, "v": V, "scale": float("nan")}, "scale"),
    (sdpa, {"q": Q, "k": K, "v": V, "dropout_p": 1.5}, "dropout_p"),
    (MultiHeadAttention, {"embed_dim": 0, "num_heads": 1}, "embed_dim"),
    (MultiHeadAttention, {"embed_dim": 8, "num_heads": 2.0}, "num_heads"),
    (MultiHeadAttention, {"embed_dim": 10, "num_heads": 3}, "embed_dim"),
    (MultiHeadAttention, {"embed_dim": 8, "num_heads": 2, "dropout": 2.0}, "dropout"),
    (MultiHeadAttention, {"embed_dim": 8, "num_heads": 2, "bias": "yes"}, "bias"),
    (MultiHeadAttention(8, 2), {"query": torch.randn(3, 8), "key": K, "value": V}, "query"),
    (MultiHeadAttention(4, 2), {"query": Q.double(), "key": K, "value": K}, "query"),
    (MultiHeadAttention(4, 2), {"query": Q, "key": K[:1], "value": K[:1]}, "key"),
    (MultiHeadAttention(4, 2), {"query": Q, "key": K, "value": K[:, :2]}, "value"),
    (MultiHeadAttention.from_torch, {"module": torch.nn.Linear(4, 4)}, "module"),
    (MultiHeadAttention.from_torch, {"module": torch.nn.MultiheadAttention(4, 2)}, "module"),
    (TransformerBlock, {"embed_dim": 8, "num_heads": 2, "mlp_ratio": 0}, "mlp_ratio"),
    (TransformerBlock, {"embed_dim": -8, "num_heads": 2}, "embed_dim"),
    (TransformerBlock(4, 2), {"x": torch.randn(3, 4)}, "x"),
    (sinusoidal_positions, {"length": 0, "dim": 4}, "length"),
    (sinusoidal_positions, {"length": 5, "dim": 3}, "dim"),
    (sinusoidal_positions, {"length": 5, "dim": 4, "base": -1.0}, "base"),
    (apply_rotary, {"x": torch.randn(5, 3), "positions": torch.arange(5)}, "x"),
    (apply_rotary, {"x": torch.randn(6), "positions": torch.arange(1)}, "x"),
    (apply_rotary, {"x": torch.randn(5, 4), "positions": torch.arange(5.0)}, "positions"),
    (apply_rotary, {"x": torch.randn(5, 4), "positions": torch.arange(4)}, "positions"),
    (apply_rotary, {"x": torch.randn(5, 4), "positions": torch.arange(5), "theta": 0.0},
     "theta"),
    # ---- regularization -----------------------------------------------------------------------
    (dropout, {"x": "abc"}, "x"),
    (dropout, {"x": torch.randn(3, dtype=torch.complex64)}, "x"),
    (dropout, {"x": X, "p": 1.5}, "p"),
    (dropout, {"x": X, "p": -0.1}, "p"),
    (dropout, {"x": X, "p": float("nan")}, "p"),
    (dropout, {"x": X, "training": 1}, "training"),
    (Dropout, {"p": 2.0}, "p"),
    (Dropout(0.5), {"x": None}, "x"),
    (bias_variance, {"predictions": torch.zeros(3), "target": torch.zeros(3)}, "predictions"),
    (bias_variance, {"predictions": torch.zeros(0, 3), "target": torch.zeros(3)},
     "predictions"),
    (bias_variance, {"predictions": "abc", "target": torch.zeros(3)}, "predictions"),
    (bias_variance, {"predictions": torch.zeros(2, 3), "target": torch.zeros(4)}, "target"),
    (bias_variance, {"predictions": torch.zeros(2, 3), "target": torch.zeros(2, 3)}, "target"),
    (bias_variance, {"predictions": torch.zeros(2, 1), "target": [float("nan")]}, "target"),
    (random_shift, {"images": torch.randn(3, 8, 8)}, "images"),
    (random_shift, {"images": "abc"}, "images"),
    (random_shift, {"images": torch.randn(2, 1, 8, 8), "max_shift": -1}, "max_shift"),
    (random_shift, {"images": torch.randn(2, 1, 8, 8), "max_shift": 1.0}, "max_shift"),
    # ---- convolution ---------------------------------------------------------------------------
    (convolution.conv2d, {"x": torch.randn(8, 8), "weight": torch.randn(1, 1, 3, 3)}, "x"),
    (convolution.conv2d, {"x": "abc", "weight": torch.randn(1, 1, 3, 3)}, "x"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 3)}, "weight"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 4, 3, 3)},
     "weight"),  # 4 input channels for 2
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8),
                          "weight": torch.randn(3, 2, 3, 3, dtype=torch.float64)}, "weight"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 2, 2), "weight": torch.randn(3, 2, 3, 3)},
     "x"),  # smaller than the kernel
    (convolution.conv2d, {"x": torch.randn(1, 4, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "groups": 2}, "groups"),  # 3 outputs in 2 groups
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "groups": 0}, "groups"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "bias": torch.randn(2)}, "bias"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "stride": 0}, "stride"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "stride": (1, 2, 3)}, "stride"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "padding": -1}, "padding"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "padding": "full"}, "padding"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "padding": "same", "stride": 2}, "padding"),
    (convolution.conv2d, {"x": torch.randn(1, 2, 8, 8), "weight": torch.randn(3, 2, 3, 3),
                          "dilation": 1.5}, "dilation"),
    (convolution.conv_output_size, {"size": 0, "kernel_size": 3}, "size"),
    (convolution.conv_output_size, {"size": 2, "kernel_size": 3}, "kernel_size"),
    (convolution.conv_output_size, {"size": 8, "kernel_size": 3, "stride": 0}, "stride"),
    (convolution.conv_output_size, {"size": 8, "kernel_size": 3, "padding": -1}, "padding"),
    (convolution.conv_output_size, {"size": 8, "kernel_size": 3, "dilation": True},
     "dilation"),
    (convolution.max_pool2d, {"x": torch.randn(8), "kernel_size": 2}, "x"),
    (convolution.max_pool2d, {"x": torch.randn(1, 8, 8), "kernel_size": 0}, "kernel_size"),
    (convolution.max_pool2d, {"x": torch.randn(1, 8, 8), "kernel_size": 3, "padding": 2},
     "padding"),  # more than half the window
    (convolution.max_pool2d, {"x": torch.randn(1, 8, 8), "kernel_size": 2, "stride": -1},
     "stride"),
    (convolution.max_pool2d, {"x": torch.randn(1, 1, 1), "kernel_size": 2}, "x"),
    (convolution.receptive_field, {"layers": 3}, "layers"),
    (convolution.receptive_field, {"layers": [(3,)]}, "layers"),
    (convolution.receptive_field, {"layers": [(3, 1, 1, 1)]}, "layers"),
    (convolution.receptive_field, {"layers": [(3, 0)]}, "layers"),
    (convolution.Conv2d, {"in_channels": 0, "out_channels": 2, "kernel_size": 3},
     "in_channels"),
    (convolution.Conv2d, {"in_channels": 2, "out_channels": 2, "kernel_size": (3, 0)},
     "kernel_size"),
    (convolution.Conv2d, {"in_channels": 4, "out_channels": 3, "kernel_size": 3,
                          "groups": 2}, "groups"),
    (convolution.Conv2d, {"in_channels": 2, "out_channels": 2, "kernel_size": 3,
                          "padding": "same", "stride": 2}, "padding"),
    (convolution.Conv2d(2, 3, 3), {"x": torch.randn(1, 4, 8, 8)}, "weight"),
    (resnet.ResidualBlock, {"in_channels": 0}, "in_channels"),
    (resnet.ResidualBlock, {"in_channels": 4, "out_channels": 2.0}, "out_channels"),
    (resnet.ResidualBlock, {"in_channels": 4, "stride": 0}, "stride"),
    (resnet.ResidualBlock, {"in_channels": 4, "residual": 1}, "residual"),
    (resnet.SmallResNet, {"num_classes": 0}, "num_classes"),
    (resnet.SmallResNet, {"widths": ()}, "widths"),
    (resnet.SmallResNet, {"widths": (8, -16)}, "widths"),
    (resnet.SmallResNet, {"blocks_per_stage": 0}, "blocks_per_stage"),
    (resnet.SmallResNet, {"in_channels": None}, "in_channels"),
    # ---- optimizers and schedules -------------------------------------------------------------
    (SGD, {"params": [P], "lr": -0.1}, "lr"),
    (SGD, {"params": [P], "lr": float("nan")}, "lr"),
    (SGD, {"params": [P], "lr": 0.1, "momentum": -0.9}, "momentum"),
    (SGD, {"params": [P], "lr": 0.1, "nesterov": True}, "nesterov"),  # no momentum
    (SGD, {"params": [P], "lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True},
     "nesterov"),
    (SGD, {"params": [P], "lr": 0.1, "nesterov": 1}, "nesterov"),
    (SGD, {"params": [P], "lr": 0.1, "weight_decay": -1e-4}, "weight_decay"),
    (Adagrad, {"params": [P], "lr": -1e-2}, "lr"),
    (Adagrad, {"params": [P], "eps": 0.0}, "eps"),
    (Adagrad, {"params": [P], "lr_decay": -1.0}, "lr_decay"),
    (Adagrad, {"params": [P], "initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (RMSprop, {"params": [P], "alpha": 1.0}, "alpha"),
    (RMSprop, {"params": [P], "eps": -1e-8}, "eps"),
    (RMSprop, {"params": [P], "momentum": -0.5}, "momentum"),
    (RMSprop, {"params": [P], "centered": "yes"}, "centered"),
    (Adam, {"params": [P], "lr": -1e-3}, "lr"),
    (Adam, {"params": [P], "betas": (0.9, 1.0)}, "betas"),
    (Adam, {"params": [P], "betas": (-0.1, 0.999)}, "betas"),
    (Adam, {"params": [P], "betas": 0.9}, "betas"),
    (Adam, {"params": [P], "eps": 0.0}, "eps"),
    (AdamW, {"params": [P], "weight_decay": -1e-2}, "weight_decay"),
    (AdamW, {"params": [P], "betas": (1.5, 0.999)}, "betas"),
    (warmup_cosine, {"step": -1, "total_steps": 10, "warmup_steps": 2, "peak_lr": 0.1},
     "step"),
    (warmup_cosine, {"step": 1.5, "total_steps": 10, "warmup_steps": 2, "peak_lr": 0.1},
     "step"),
    (warmup_cosine, {"step": 1, "total_steps": 0, "warmup_steps": 0, "peak_lr": 0.1},
     "total_steps"),
    (warmup_cosine, {"step": 1, "total_steps": 10, "warmup_steps": 10, "peak_lr": 0.1},
     "warmup_steps"),
    (warmup_cosine, {"step": 1, "total_steps": 10, "warmup_steps": 2, "peak_lr": -0.1},
     "peak_lr"),
    (warmup_cosine, {"step": 1, "total_steps": 10, "warmup_steps": 2, "peak_lr": 0.1,
                     "min_lr": 0.2}, "min_lr"),
]


def _id(case) -> str:
    target, _, name = case
    label = getattr(target, "__name__", type(target).__name__)
    return f"{label}-{name}"


@pytest.mark.parametrize("target, kwargs, name", CASES, ids=[_id(c) for c in CASES])
def test_malformed_argument_raises_value_error_naming_it(target, kwargs, name):
    with pytest.raises(ValueError, match=rf"\b{re.escape(name)}\b"):
        target(**kwargs)
