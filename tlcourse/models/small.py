"""A small CNN trained from scratch: the baseline every transfer method in lessons 02 and 03 must beat."""

from __future__ import annotations

from typing import Any


def small_cnn(n_classes: int, width: int = 16) -> Any:
    """Three conv blocks (3x3 conv, BatchNorm, ReLU; max-pool after the first two) and a linear layer.

    Input ``[N, 3, H, W]`` (any H, W >= 4; the lessons use 32 px), output logits ``[N, n_classes]``.
    Channels ``width, 2 width, 4 width``; global average pooling before the classifier. With
    ``width=16`` and 10 classes it has 24,346 parameters, all trainable, randomly initialised.
    """
    from torch import nn

    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(
        *block(3, width), nn.MaxPool2d(2), *block(width, 2 * width), nn.MaxPool2d(2),
        *block(2 * width, 4 * width), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(4 * width, n_classes),
    )
