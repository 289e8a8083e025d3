"""Tests for coursekit.language.patches and coursekit.language.multimodal: patches against
``F.unfold``/``F.fold``, the patch embedding against ``nn.Conv2d`` with the same weights, the
causal mask of the image-and-text transformer, a loss blind to the image positions (checked
against a NumPy cross-entropy), and a short training run that names held-out digits."""

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coursekit.language.multimodal import (
    BOS,
    DIGIT_NAMES,
    EOS,
    IGNORE,
    TOKENS,
    DigitNamer,
    caption_batch,
    describe,
    text_loss,
    train_namer,
)
from coursekit.language.patches import PatchEmbedding, patchify
from coursekit.training.data import load_digits

seeds = st.integers(0, 2**31 - 1)


def random_images(seed, B, C, H, W, dtype=torch.float32):
    return torch.randn(B, C, H, W, generator=torch.Generator().manual_seed(seed), dtype=dtype)


@settings(max_examples=25, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.integers(1, 4))
def test_patchify_matches_unfold_with_stride_equal_to_the_kernel(seed, B, C, p, rows, cols):
    x = random_images(seed, B, C, rows * p, cols * p)
    expected = F.unfold(x, kernel_size=p, stride=p).transpose(1, 2)  # (B, N, C p p)
    assert torch.equal(patchify(x, p), expected)


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_fold_puts_the_patches_back_into_the_image(seed, C, p, rows, cols):
    x = random_images(seed, 2, C, rows * p, cols * p)
    patches = patchify(x, p).transpose(1, 2)  # (B, C p p, N), unfold's layout
    assert torch.equal(F.fold(patches, (rows * p, cols * p), p, stride=p), x)


def test_patches_are_row_major_and_flattened_channel_first():
    x = torch.arange(2 * 4 * 4.0).reshape(1, 2, 4, 4)  # pixel (c, h, w) holds 16 c + 4 h + w
    patches = patchify(x, 2)
    assert patches[0, 1].tolist() == [2, 3, 6, 7, 18, 19, 22, 23]  # top right, channel 0 then 1
    assert patches[0, 2, 0].item() == 8  # the second row of patches starts at (h, w) = (2, 0)


@settings(max_examples=20, deadline=None)
@given(seeds, st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 12))
def test_patch_embedding_equals_a_strided_convolution(seed, C, p, rows, cols, E):
    torch.manual_seed(seed % 1000)
    conv = nn.Conv2d(C, E, kernel_size=p, stride=p).double()
    embed = PatchEmbedding((rows * p, cols * p), p, C, E).double()
    with torch.no_grad():
        embed.proj.weight.copy_(conv.weight.reshape(E, -1))  # (E, C, p, p) -> (E, C p p)
        embed.proj.bias.copy_(conv.bias)
    x = random_images(seed, 2, C, rows * p, cols * p, torch.float64)
    expected = conv(x).flatten(2).transpose(1, 2) + embed.positions  # (B, N, E)
    torch.testing.assert_close(embed(x), expected, rtol=1e-12, atol=1e-12)


def test_patch_embedding_adds_one_learned_position_per_patch():
    embed = PatchEmbedding(8, 4, 1, 6)
    assert embed.positions.shape == (4, 6) and embed.positions.requires_grad
    zero = torch.zeros(1, 1, 8, 8)
    torch.testing.assert_close(embed(zero)[0], embed.proj.bias + embed.positions)


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 3), st.sampled_from([(8, 2), (8, 4), (6, 3), (4, 1)]),
       st.integers(1, 2), st.integers(1, 3), st.integers(0, 2), st.integers(1, 6))
def test_digit_namer_shapes(seed, B, sizes, C, heads, layers, T):
    image_size, p = sizes
    torch.manual_seed(seed % 1000)
    model = DigitNamer(image_size, p, C, embed_dim=4 * heads, num_layers=layers,
                       num_heads=heads)
    tokens = torch.randint(0, len(TOKENS), (B, T))
    logits = model(random_images(seed, B, C, image_size, image_size), tokens)
    assert logits.shape == (B, (image_size // p) ** 2 + T, len(TOKENS))


def test_text_logits_do_not_depend_on_later_tokens():
    torch.manual_seed(0)
    model = DigitNamer(num_layers=2).eval()
    N = model.patches.num_patches
    images, tokens = torch.rand(3, 1, 8, 8), torch.randint(0, len(TOKENS), (3, 6))
    base = model(images, tokens)
    for t in range(1, 6):
        changed = tokens.clone()
        changed[:, t:] = (changed[:, t:] + 1) % len(TOKENS)
        out = model(images, changed)
        assert torch.equal(out[:, :N + t], base[:, :N + t])  # up to text token t - 1
        assert not torch.allclose(out[:, N + t], base[:, N + t])


def test_text_logits_see_the_image():
    torch.manual_seed(0)
    model = DigitNamer().eval()
    tokens = torch.full((2, 1), BOS)
    a, b = model(torch.rand(2, 1, 8, 8), tokens), model(torch.rand(2, 1, 8, 8), tokens)
    assert not torch.allclose(a[:, -1], b[:, -1])


def test_captions_are_the_names_moved_one_step():
    labels = torch.arange(10)
    inputs, targets = caption_batch(labels)
    for digit in range(10):
        name = DIGIT_NAMES[digit]
        row, target = inputs[digit].tolist(), targets[digit].tolist()
        assert [TOKENS[i] for i in row[1:len(name) + 1]] == list(name)
        assert row[0] == BOS and set(row[len(name) + 1:]) <= {EOS}
        assert target[:len(name)] == row[1:len(name) + 1]
        assert target[len(name)] == EOS and set(target[len(name) + 1:]) <= {IGNORE}


def numpy_text_cross_entropy(logits: np.ndarray, targets: np.ndarray, N: int) -> float:
    log_probs = scipy.special.log_softmax(logits[:, N:], axis=-1)  # (B, T, V)
    b, t = np.nonzero(targets != IGNORE)
    return float(-log_probs[b, t, targets[b, t]].mean())


@settings(max_examples=15, deadline=None)
@given(seeds, st.integers(1, 4), st.integers(0, 5), st.integers(1, 6), st.integers(2, 9))
def test_loss_is_the_cross_entropy_of_the_text_positions_alone(seed, B, N, T, V):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, N + T, V, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, V, (B, T), generator=generator)
    targets[:, 1:][torch.rand(B, T - 1, generator=generator) < 0.3] = IGNORE
    expected = numpy_text_cross_entropy(logits.numpy(), targets.numpy(), N)
    assert text_loss(logits, targets, N).item() == pytest.approx(expected, rel=1e-12)


def test_loss_ignores_the_image_positions():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4 + 6, len(TOKENS), generator=generator, requires_grad=True)
    _, targets = caption_batch([3, 8])
    loss = text_loss(logits, targets, 4)
    loss.backward()
    assert bool((logits.grad[:, :4] == 0).all())  # no gradient reaches a patch's logits
    assert bool((logits.grad[:, 4:] != 0).any())
    shuffled = logits.detach().clone()
    shuffled[:, :4] = torch.randn(2, 4, len(TOKENS), generator=generator)
    assert torch.equal(text_loss(shuffled, targets, 4), loss.detach())


@pytest.fixture(scope="module")
def trained():
    train, val = load_digits(val_size=0.2)[:2]
    torch.manual_seed(0)
    model = DigitNamer(patch_size=4, embed_dim=32)
    losses = train_namer(model, *train.tensors, epochs=10, seed=0)
    return model, losses, val


def test_training_names_most_held_out_digits(trained):
    model, losses, val = trained
    images, labels = val.tensors
    names = describe(model, images)
    accuracy = np.mean([name == DIGIT_NAMES[y] for name, y in zip(names, labels.tolist(),
                                                                   strict=True)])
    assert losses[-1] < losses[0] / 5
    assert accuracy > 0.6  # seeds 0-7 give 0.84-0.91 after 10 epochs; chance is 0.1


def test_describe_is_greedy_and_takes_one_image_or_a_batch(trained):
    model, _, val = trained
    images = val.tensors[0][:5]
    names = describe(model, images)
    assert isinstance(names, list) and names == [describe(model, x) for x in images]
    tokens = torch.full((5, 1), BOS)
    for _ in range(5):  # greedy by hand: argmax of the last position, five times
        tokens = torch.cat([tokens, model(images, tokens)[:, -1].argmax(-1, keepdim=True)], 1)
    for name, row in zip(names, tokens.tolist(), strict=True):
        letters = row[1:row.index(EOS)] if EOS in row else row[1:]
        assert name == "".join(TOKENS[i] for i in letters)


def test_training_is_reproducible_from_the_seeds():
    images, labels = torch.rand(40, 1, 8, 8), torch.arange(40) % 10
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = DigitNamer()
        runs.append((train_namer(model, images, labels, epochs=2, batch_size=16, seed=5),
                     model.head.weight.detach().clone()))
    assert runs[0][0] == runs[1][0] and torch.equal(runs[0][1], runs[1][1])
