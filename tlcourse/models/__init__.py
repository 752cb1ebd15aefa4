"""Pretrained backbones (PyTorch and Keras) for the vision lessons; see :mod:`.backbones`."""

from .backbones import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    keras_backbone,
    keras_mobilenet_v2,
    port_torch_mobilenet_v2,
    torch_backbone,
    torch_style_preprocess,
)
from .small import small_cnn

__all__ = [
    "IMAGENET_MEAN", "IMAGENET_STD", "keras_backbone", "keras_mobilenet_v2",
    "port_torch_mobilenet_v2", "small_cnn", "torch_backbone", "torch_style_preprocess",
]
