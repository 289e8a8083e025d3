r"""One causal transformer over image patches and text: a toy multimodal model that names digits.

The chapter "Multimodality: images as tokens" (``docs/language/multimodal.md``) teaches what
this module implements. `coursekit.language.patches` turns an image into a sequence of tokens,
as the Vision Transformer does (Dosovitskiy et al. 2021); put those tokens in front of a
caption's characters, and one decoder-only transformer reads the picture and writes about it,
as Gemini reads images among text (Gemini Team 2023). `DigitNamer` is that model at toy
scale: given an 8x8 digit it writes the digit's English name character by character, trained
with next-token loss on the text alone (`caption_batch`, `text_loss`, `train_namer`), and
`describe` decodes greedily. Bad input raises a ``ValueError`` that names the argument.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from coursekit._validation import (
    as_real_float,
    as_tensor,
    integer,
    model_input,
    positive,
    positive_int,
)
from coursekit.blocks.attention import TransformerBlock
from coursekit.language.decoding import sample_token
from coursekit.language.patches import PatchEmbedding

__all__ = ["DIGIT_NAMES", "TOKENS", "BOS", "EOS", "IGNORE", "DigitNamer", "caption_batch",
           "text_loss", "train_namer", "describe"]

DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TOKENS = ("<bos>", "<eos>", *sorted(set("".join(DIGIT_NAMES))))  # 2 marks and 15 letters
BOS = 0  # the token that starts a text
EOS = 1  # the token that ends it
IGNORE = -100  # a target the loss skips (F.cross_entropy's default ignore_index)
_ID = {c: i for i, c in enumerate(TOKENS)}
_TEXT_LENGTH = 1 + max(len(name) for name in DIGIT_NAMES)  # <bos> and the longest name


def _batch(images, model: nn.Module) -> torch.Tensor:
    x = model_input(images, model, "images")
    if x.ndim != 4:
        raise ValueError(f"images must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    return x


class DigitNamer(nn.Module):
    r"""One causal transformer over ``[image patches ; text]`` that names a digit in letters.

    The sequence is the $N$ patch embeddings of the image, then the embeddings of the text's
    tokens (``<bos>`` and the letters so far), each plus a learned position and plus the
    embedding of its modality (0 for a patch, 1 for text), so the model knows which is which.
    Causal `coursekit.blocks.attention.TransformerBlock` layers let every position attend to
    those before it; the head gives next-token logits at every position, and only those of
    the text positions are trained (`text_loss`).

    Args:
        image_size: the images' height and width; 8 for the digits.
        patch_size: $p$, dividing ``image_size``.
        in_channels: the images' channels.
        embed_dim: the width $E$, divisible by ``num_heads``.
        num_layers: transformer blocks.
        num_heads: attention heads.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer (``num_layers``
            may be 0) or ``patch_size`` does not divide ``image_size``; from ``forward``, if
            ``images`` or ``tokens`` are malformed.

    Examples:
        >>> import torch
        >>> from coursekit.language.multimodal import BOS, DigitNamer
        >>> _ = torch.manual_seed(0)
        >>> model = DigitNamer(patch_size=4, embed_dim=32)
        >>> images, tokens = torch.rand(3, 1, 8, 8), torch.full((3, 2), BOS)
        >>> tuple(model(images, tokens).shape)  # (B, N + T, V): 4 patches, 2 tokens
        (3, 6, 17)
    """

    def __init__(self, image_size: int | tuple[int, int] = 8, patch_size: int = 4,
                 in_channels: int = 1, embed_dim: int = 32, num_layers: int = 1,
                 num_heads: int = 2) -> None:
        super().__init__()
        self.patches = PatchEmbedding(image_size, patch_size, in_channels, embed_dim)
        num_layers = integer(num_layers, "num_layers", minimum=0)
        self.vocab_size, self.max_text = len(TOKENS), _TEXT_LENGTH
        self.tokens = nn.Embedding(self.vocab_size, embed_dim)
        self.text_positions = nn.Embedding(self.max_text, embed_dim)
        self.modality = nn.Embedding(2, embed_dim)  # 0: image patch, 1: text
        self.blocks = nn.ModuleList(TransformerBlock(embed_dim, num_heads)
                                    for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, self.vocab_size)
        for table in (self.tokens, self.text_positions, self.modality):
            nn.init.normal_(table.weight, std=0.02)  # as GPT-2; N(0, 1) would drown the patches

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, N + T, V)`` for images ``(B, C, H, W)`` and token ids ``(B, T)``."""
        image = self.patches(images) + self.modality.weight[0]  # (B, N, E)
        ids = _token_ids(tokens, self.vocab_size, self.max_text)
        if len(ids) != len(image):
            raise ValueError(f"tokens must have one row per image, got {len(ids)} rows "
                             f"for {len(image)} images")
        T = ids.shape[1]
        text = self.tokens(ids.to(image.device)) + self.modality.weight[1]  # (B, T, E)
        text = text + self.text_positions.weight[:T]
        x = torch.cat([image, text], dim=1)  # (B, N + T, E): patches, then text
        for block in self.blocks:
            x = block(x, is_causal=True)
        return self.head(self.ln_f(x))  # (B, N + T, V)


def _token_ids(tokens, vocab_size: int, max_length: int) -> torch.Tensor:
    ids = as_tensor(tokens, "tokens")
    if ids.is_floating_point() or ids.is_complex() or ids.dtype == torch.bool:
        raise ValueError(f"tokens must be integer ids, got dtype {ids.dtype}")
    if ids.ndim != 2 or not 1 <= ids.shape[1] <= max_length:
        raise ValueError(f"tokens must have shape (B, T) with 1 <= T <= {max_length}, "
                         f"got shape {tuple(ids.shape)}")
    if ids.numel() and (ids.min() < 0 or ids.max() >= vocab_size):
        raise ValueError(f"tokens must be ids in [0, {vocab_size}), got values from "
                         f"{int(ids.min())} to {int(ids.max())}")
    return ids.long()


def caption_batch(labels) -> tuple[torch.Tensor, torch.Tensor]:
    """The inputs and targets that teach a model to write each label's name.

    The input of digit 7 is ``<bos> s e v e n`` and its target, the input moved one step,
    ``s e v e n <eos>``; shorter names are padded, the inputs with ``<eos>`` and the targets
    with ``IGNORE``, which the loss skips. Causal attention keeps padding from reaching the
    positions before it.

    Args:
        labels: digits in ``0..9``, shape ``(B,)``.

    Returns:
        ``(inputs, targets)``, two ``torch.long`` tensors of shape ``(B, 6)``.

    Raises:
        ValueError: if ``labels`` is not a 1-D tensor of integers in ``0..9``.

    Examples:
        >>> from coursekit.language.multimodal import TOKENS, caption_batch
        >>> inputs, targets = caption_batch([7, 1])
        >>> [TOKENS[i] for i in inputs[1]]
        ['<bos>', 'o', 'n', 'e', '<eos>', '<eos>']
        >>> targets[1].tolist()[-3:]  # after <eos>, nothing to learn
        [1, -100, -100]
    """
    y = as_tensor(labels, "labels")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 1:
        raise ValueError(f"labels must be a 1-D tensor of integer digits, got dtype {y.dtype} "
                         f"and shape {tuple(y.shape)}")
    if y.numel() and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"labels must be digits in 0..9, got values from {int(y.min())} "
                         f"to {int(y.max())}")
    inputs = torch.full((len(y), _TEXT_LENGTH), EOS)
    targets = torch.full((len(y), _TEXT_LENGTH), IGNORE)
    for row, label in enumerate(y.tolist()):
        ids = [_ID[c] for c in DIGIT_NAMES[label]]
        inputs[row, :len(ids) + 1] = torch.tensor([BOS, *ids])
        targets[row, :len(ids) + 1] = torch.tensor([*ids, EOS])
    return inputs, targets


def text_loss(logits: torch.Tensor, targets: torch.Tensor, num_patches: int) -> torch.Tensor:
    r"""Next-token cross-entropy over the text positions only.

    With logits $z_t$ for the $N$ patch positions and then the $T$ text positions,
    $\mathcal{L} = -\frac{1}{|S|} \sum_{(b, t) \in S} \log
    \operatorname{softmax}(z_{b, N + t})_{y_{b t}}$ over the targets that are not
    ``IGNORE``: the model is never asked to predict a patch.

    Args:
        logits: shape ``(B, N + T, V)``.
        targets: next-token ids ``(B, T)``, ``IGNORE`` where nothing is to be learned.
        num_patches: $N$.

    Returns:
        The mean loss, a scalar tensor.

    Raises:
        ValueError: naming the argument, if ``logits`` is not ``(B, N + T, V)`` for
            ``targets`` ``(B, T)``, or ``targets`` holds ids outside ``[0, V)`` other than
            ``IGNORE``.

    Examples:
        >>> import torch
        >>> from coursekit.language.multimodal import text_loss
        >>> logits = torch.zeros(1, 4 + 2, 17)  # 4 patches, 2 text positions, uniform
        >>> round(text_loss(logits, torch.tensor([[5, -100]]), 4).item(), 4)  # log 17
        2.8332
    """
    z = as_real_float(logits, "logits")
    N = integer(num_patches, "num_patches", minimum=0)
    y = as_tensor(targets, "targets")
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool or y.ndim != 2:
        raise ValueError(f"targets must be integer ids of shape (B, T), got dtype {y.dtype} "
                         f"and shape {tuple(y.shape)}")
    B, T = y.shape
    if z.ndim != 3 or z.shape[:2] != (B, N + T):
        raise ValueError(f"logits must have shape (B, N + T, V) = ({B}, {N + T}, V), "
                         f"got shape {tuple(z.shape)}")
    kept = y[y != IGNORE]
    if kept.numel() and (kept.min() < 0 or kept.max() >= z.shape[-1]):
        raise ValueError(f"targets must be ids in [0, {z.shape[-1]}) or IGNORE = {IGNORE}")
    return F.cross_entropy(z[:, N:].flatten(0, 1), y.flatten().long(), ignore_index=IGNORE)


def train_namer(model: DigitNamer, images: torch.Tensor, labels: torch.Tensor, *,
                epochs: int, batch_size: int = 64, lr: float = 5e-3,
                seed: int = 0) -> list[float]:
    """Train ``model`` in place to write each image's name; the epochs' mean losses.

    Adam, its rate decayed from ``lr`` to 0 along a cosine over all the steps, so that the
    last steps are small and the outcome varies little from seed to seed.

    Args:
        model: a `DigitNamer`.
        images: ``(B, C, H, W)`` in the model's dtype.
        labels: the digits, ``(B,)``.
        epochs: passes over the data, in an order drawn from ``seed``.
        batch_size: images per step.
        lr: Adam's learning rate.
        seed: the seed of the order.

    Returns:
        The mean `text_loss` of each epoch.

    Raises:
        ValueError: naming the argument, if ``model`` is not a `DigitNamer`, a size is not a
            positive integer, ``lr`` is not positive, or ``images`` and ``labels`` do not
            match.

    Examples:
        >>> import torch
        >>> from coursekit.language.multimodal import DigitNamer, train_namer
        >>> _ = torch.manual_seed(0)
        >>> model = DigitNamer()
        >>> images, labels = torch.rand(32, 1, 8, 8), torch.arange(32) % 10
        >>> losses = train_namer(model, images, labels, epochs=5, batch_size=8)
        >>> losses[-1] < losses[0]
        True
    """
    if not isinstance(model, DigitNamer):
        raise ValueError(f"model must be a DigitNamer, got {type(model).__name__}")
    epochs, batch_size = positive_int(epochs, "epochs"), positive_int(batch_size, "batch_size")
    lr = positive(lr, "lr")
    x = _batch(images, model)
    inputs, targets = caption_batch(labels)
    if len(inputs) != len(x):
        raise ValueError(f"labels must have one entry per image, got {len(inputs)} for "
                         f"{len(x)} images")
    generator = torch.Generator().manual_seed(integer(seed, "seed", minimum=0))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * -(-len(x) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)  # lr to 0
    model.train()
    losses = []
    for _ in range(epochs):
        order, total = torch.randperm(len(x), generator=generator), 0.0
        for batch in order.split(batch_size):
            logits = model(x[batch], inputs[batch])
            loss = text_loss(logits, targets[batch], model.patches.num_patches)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(batch)
        losses.append(total / len(x))
    return losses


@torch.no_grad()
def describe(model: DigitNamer, images: torch.Tensor) -> str | list[str]:
    """Greedy decoding: feed the image and ``<bos>``, append the most likely token, repeat
    until ``<eos>`` (or the longest name's length).

    Args:
        model: a trained `DigitNamer`, put in eval mode.
        images: one image ``(C, H, W)`` or a batch ``(B, C, H, W)``.

    Returns:
        The text written for the image, or a list of texts for a batch.

    Raises:
        ValueError: naming the argument, if ``model`` is not a `DigitNamer` or ``images`` does
            not fit it.

    Examples:
        >>> import torch
        >>> from coursekit.language.multimodal import DigitNamer, describe
        >>> _ = torch.manual_seed(0)
        >>> text = describe(DigitNamer(), torch.rand(1, 8, 8))  # one image, untrained
        >>> isinstance(text, str) and len(text) <= 5  # letters at random
        True
    """
    if not isinstance(model, DigitNamer):
        raise ValueError(f"model must be a DigitNamer, got {type(model).__name__}")
    x = model_input(images, model, "images")
    single = x.ndim == 3
    x = _batch(x[None] if single else x, model)
    model.eval()
    tokens = torch.full((len(x), 1), BOS, device=x.device)
    done = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    while tokens.shape[1] < model.max_text and not bool(done.all()):
        step = sample_token(model(x, tokens)[:, -1], temperature=0.0)  # (B,)
        step = step.masked_fill(done, EOS)
        done |= step == EOS
        tokens = torch.cat([tokens, step[:, None]], dim=1)
    texts = [_text(row[1:]) for row in tokens.tolist()]
    return texts[0] if single else texts


def _text(ids: list[int]) -> str:
    """The tokens before the first ``<eos>``, as text."""
    end = ids.index(EOS) if EOS in ids else len(ids)
    return "".join(TOKENS[i] for i in ids[:end])
