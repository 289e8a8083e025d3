r"""Images as tokens: cut an image into patches and embed each, as the Vision Transformer does.

Dosovitskiy et al. (2021, "An image is worth 16x16 words: transformers for image recognition
at scale") cut an image into $p \times p$ patches, flatten each and map it linearly to the
model's width, adding a learned vector per patch position: the image becomes a sequence of
tokens that a transformer reads like words. `patchify` does the cutting by reshapes alone, and
`PatchEmbedding` is the input layer, equal to a convolution with kernel and stride $p$. The
chapter "Multimodality: images as tokens" (``docs/language/multimodal.md``) teaches both, and
`coursekit.language.multimodal` builds a model on them. Bad input raises a ``ValueError`` that
names the argument.
"""

from __future__ import annotations

import torch
from torch import nn

from coursekit._validation import as_real_float, model_input, positive_int

__all__ = ["patchify", "PatchEmbedding"]


def _images(images, name: str = "images") -> torch.Tensor:
    x = as_real_float(images, name)
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (B, C, H, W), got shape {tuple(x.shape)}")
    return x


def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    r"""Cut images into non-overlapping square patches and flatten each, by reshapes alone.

    Patch $n = i\, (W / p) + j$ (row-major) holds the pixels $x_{c, ip + a, jp + b}$ for
    $0 \le a, b < p$, flattened in the order $(c, a, b)$: the columns of
    ``F.unfold(images, p, stride=p)``, and the order in which a ``Conv2d``'s weight
    ``(E, C, p, p)`` flattens, so that a linear map of the patches is a strided convolution.

    Args:
        images: shape ``(B, C, H, W)``, with ``H`` and ``W`` divisible by ``patch_size``.
        patch_size: $p$, a positive integer.

    Returns:
        The patches, shape ``(B, N, C p^2)`` with $N = HW / p^2$.

    Raises:
        ValueError: naming the argument, if ``images`` is not a real tensor
            ``(B, C, H, W)``, or ``patch_size`` is not a positive integer dividing ``H`` and
            ``W``.

    Examples:
        >>> import torch
        >>> import torch.nn.functional as F
        >>> from coursekit.language.patches import patchify
        >>> x = torch.arange(2 * 3 * 8 * 4.0).reshape(2, 3, 8, 4)
        >>> tuple(patchify(x, 2).shape)  # (B, N, C p p): 4 x 2 patches of 3 x 2 x 2
        (2, 8, 12)
        >>> torch.equal(patchify(x, 2), F.unfold(x, 2, stride=2).transpose(1, 2))
        True
    """
    x, p = _images(images), positive_int(patch_size, "patch_size")
    B, C, H, W = x.shape
    if H % p or W % p:
        raise ValueError(f"patch_size must divide the images' height and width {(H, W)}, "
                         f"got {p}")
    x = x.reshape(B, C, H // p, p, W // p, p)  # (B, C, i, a, j, b)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(B, H * W // (p * p), C * p * p)  # (B, N, C p p)


class PatchEmbedding(nn.Module):
    r"""The ViT input layer: flatten patches, map them linearly, add a learned position each.

    $z_n = W\, \operatorname{patch}_n(x) + b + e_n$ with $W$ of shape $(E, C p^2)$ and one
    learned vector $e_n$ per patch position (Dosovitskiy et al. 2021). The linear map of
    non-overlapping patches is ``nn.Conv2d(C, E, kernel_size=p, stride=p)`` with the weight
    ``W.reshape(E, C, p, p)``: ``proj`` holds $W$ and $b$, ``positions`` the $e_n$.

    Args:
        image_size: the images' height and width, an int or a pair ``(H, W)``.
        patch_size: $p$, dividing both.
        in_channels: $C$.
        embed_dim: $E$.

    Raises:
        ValueError: naming the argument, if a size is not a positive integer or
            ``patch_size`` does not divide ``image_size``; from ``forward``, if the images are
            not ``(B, C, H, W)`` of these sizes in the parameters' dtype.

    Examples:
        >>> import torch
        >>> from coursekit.language.patches import PatchEmbedding
        >>> _ = torch.manual_seed(0)
        >>> embed = PatchEmbedding(image_size=8, patch_size=4, in_channels=1, embed_dim=16)
        >>> tuple(embed(torch.rand(5, 1, 8, 8)).shape)  # (B, N, E): 4 patches of 4 x 4
        (5, 4, 16)
    """

    def __init__(self, image_size: int | tuple[int, int], patch_size: int, in_channels: int,
                 embed_dim: int) -> None:
        super().__init__()
        if isinstance(image_size, (tuple, list)) and len(image_size) == 2:
            size = tuple(positive_int(s, "image_size") for s in image_size)
        else:
            size = (positive_int(image_size, "image_size"),) * 2
        p = positive_int(patch_size, "patch_size")
        if size[0] % p or size[1] % p:
            raise ValueError(f"patch_size must divide image_size = {size}, got {p}")
        self.image_size, self.patch_size = size, p
        self.in_channels = positive_int(in_channels, "in_channels")
        self.embed_dim = positive_int(embed_dim, "embed_dim")
        self.num_patches = size[0] * size[1] // (p * p)
        self.proj = nn.Linear(self.in_channels * p * p, self.embed_dim)
        self.positions = nn.Parameter(0.02 * torch.randn(self.num_patches, self.embed_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = _images(model_input(images, self, "images"))
        if tuple(x.shape[1:]) != (self.in_channels, *self.image_size):
            raise ValueError(f"images must have shape (B, {self.in_channels}, "
                             f"{self.image_size[0]}, {self.image_size[1]}), "
                             f"got shape {tuple(x.shape)}")
        return self.proj(patchify(x, self.patch_size)) + self.positions  # (B, N, E)
