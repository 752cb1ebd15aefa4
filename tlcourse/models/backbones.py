"""ImageNet backbones for PyTorch and Keras that work offline.

PyTorch: :func:`torch_backbone` makes sure the torchvision weights are in torch's hub cache
(``tl.fetch``) and then calls the standard ``torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")``.

Keras: the official Keras ImageNet weights are a download from Google's servers, so offline we
*port* the torchvision weights into ``keras.applications.MobileNetV2(weights=None)``
(:func:`keras_mobilenet_v2`). How the port works:

* **Layer mapping.** Both models list the same 52 convolutions, 52 BatchNorms and one classifier
  in the same order (``Conv1``/``bn_Conv1`` = ``features.0``, ``expanded_conv_*`` =
  ``features.1``, ``block_1_*`` .. ``block_16_*`` = ``features.2`` .. ``features.17``,
  ``Conv_1``/``Conv_1_bn`` = ``features.18``, ``predictions`` = ``classifier.1``), so they are
  paired in order and every pair's shapes are checked.
* **Tensor layouts.** torch convolution kernels are ``[out, in, kh, kw]``, Keras ``[kh, kw, in,
  out]``; depthwise ``[C, 1, kh, kw]`` vs ``[kh, kw, C, 1]``; dense ``[out, in]`` vs ``[in, out]``.
  BatchNorm maps weight/bias/running_mean/running_var to gamma/beta/moving_mean/moving_variance.
* **BatchNorm constants.** torch uses ``eps=1e-5``; Keras' MobileNetV2 ``epsilon=1e-3``, which
  would shift every normalisation, so the port sets ``epsilon=1e-5``. Momentum conventions are
  opposite (torch's 0.1 is the weight of the *new* batch, Keras' the weight of the *old*
  average); the port sets Keras ``momentum=0.9`` to match torch's 0.1 when fine-tuning.
* **Padding.** Keras pads stride-2 convolutions TensorFlow-style (0 pixels before, 1 after: the
  ``"same"`` padding of ``Conv1`` and the ``block_*_pad`` layers); torchvision pads 1 pixel on both
  sides. Left alone, every stride-2 layer would sample a grid shifted by one pixel from the one the
  weights were trained on; at 32-64 px inputs the features then barely correlate with torch's.
  :func:`symmetric_padding_mobilenet_v2` therefore rebuilds the Keras model from its config with
  torch's padding (a ``ZeroPadding2D(1)`` before a ``"valid"`` ``Conv1``, ``((1, 1), (1, 1))`` in
  every ``block_*_pad``). Weights and their shapes are unchanged (the only new layer, the padding,
  has none), and the ported model computes the same function as torchvision's: the logits agree
  to float precision (checked in ``tests/test_backbones.py`` and in the lesson).
* **Preprocessing.** The ported weights expect torchvision's input: RGB in [0, 1] normalised
  with :data:`IMAGENET_MEAN` / :data:`IMAGENET_STD` (not Keras' MobileNetV2 ``[-1, 1]``);
  :func:`torch_style_preprocess` does that inside a Keras model from 0..255 pixels.

Import order: with the PyPI (CUDA) build of PyTorch on Linux, importing TensorFlow (``import
keras``) *before* torchvision or a torch optimizer step crashes the process (a segmentation fault
when Triton, which both of those import, loads after TensorFlow). ``import tlcourse`` loads Triton
early; the lessons also import ``torch`` and ``torchvision`` before ``keras``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..assets import AssetError, fetch

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per RGB channel, for pixels in [0, 1]
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (asset id, weights file, feature dimension after global average pooling)
TORCH_BACKBONES = {
    "mobilenet_v2": ("mobilenet_v2_imagenet", "mobilenet_v2-b0353104.pth", 1280),
    "resnet50": ("resnet50_imagenet", "resnet50-0676ba61.pth", 2048),
}


def torch_backbone(name: str = "mobilenet_v2") -> tuple[Any, int]:
    """The torchvision ImageNet model ``name`` (eval mode, with its 1000-class head) and its feature dim.

    The feature dim is the width of the pooled features the classifier reads (1280 for
    MobileNetV2, 2048 for ResNet50). ``"resnet50"`` needs internet.
    """
    if name not in TORCH_BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}; use one of {', '.join(TORCH_BACKBONES)}.")
    import torchvision

    asset, _, dim = TORCH_BACKBONES[name]
    fetch(asset, progress=False)  # offline copy into torch's hub cache (or a clear AssetError)
    model = getattr(torchvision.models, name)(weights="IMAGENET1K_V1")
    return model.eval(), dim


def torch_style_preprocess(x: Any) -> Any:
    """Normalise 0..255 RGB pixels the torchvision way, as a Keras layer applied to ``x``.

    ``(x / 255 - IMAGENET_MEAN) / IMAGENET_STD`` per channel; ``x`` is a Keras tensor ([..., 3],
    channels last) in a functional model, or an array.
    """
    import keras

    mean = [255.0 * m for m in IMAGENET_MEAN]
    var = [(255.0 * s) ** 2 for s in IMAGENET_STD]
    return keras.layers.Normalization(mean=mean, variance=var, name="torch_style_preprocess")(x)


def _torch_units(state: dict[str, Any]) -> list[tuple[str, str, list[np.ndarray]]]:
    """Group a torch state_dict into (kind, prefix, arrays) units in registration order."""
    units: list[tuple[str, str, list[np.ndarray]]] = []
    for key, tensor in state.items():
        prefix, _, leaf = key.rpartition(".")
        arr = tensor.detach().cpu().numpy()
        if leaf == "weight" and arr.ndim == 4:
            units.append(("conv", prefix, [arr]))
        elif leaf == "weight" and arr.ndim == 2:
            units.append(("dense", prefix, [arr, state[prefix + ".bias"].numpy()]))
        elif leaf == "running_var":
            p = prefix + "."
            arrays = [state[p + n].numpy() for n in ("weight", "bias", "running_mean", "running_var")]
            units.append(("bn", prefix, arrays))
    return units


def port_torch_mobilenet_v2(model: Any, state: dict[str, Any]) -> int:
    """Copy a torchvision MobileNetV2 ``state`` (state_dict) into Keras ``model``; return #layers set.

    See the module docstring for the mapping. Raises ``ValueError`` naming the first layer pair
    whose kind or shape disagrees.
    """
    import keras

    kinds = {keras.layers.DepthwiseConv2D: "conv", keras.layers.Conv2D: "conv",
             keras.layers.BatchNormalization: "bn", keras.layers.Dense: "dense"}
    k_layers = [(kind, layer) for layer in model.layers for cls, kind in kinds.items()
                if type(layer) is cls]
    t_units = [u for u in _torch_units(state) if u[0] != "dense" or any(k == "dense" for k, _ in k_layers)]
    if len(k_layers) != len(t_units):
        raise ValueError(
            f"Keras model has {len(k_layers)} conv/BN/dense layers, the torch weights "
            f"{len(t_units)}: not the same architecture (MobileNetV2 with alpha=1.0?)."
        )
    for (k_kind, layer), (t_kind, prefix, arrays) in zip(k_layers, t_units, strict=True):
        if k_kind != t_kind:
            raise ValueError(f"Layer order differs: Keras {layer.name} ({k_kind}) vs torch {prefix} ({t_kind}).")
        if t_kind == "conv":
            w = arrays[0]
            if isinstance(layer, keras.layers.DepthwiseConv2D):
                new = [w.transpose(2, 3, 0, 1)]  # [C, 1, kh, kw] -> [kh, kw, C, 1]
            else:
                new = [w.transpose(2, 3, 1, 0)]  # [out, in, kh, kw] -> [kh, kw, in, out]
        elif t_kind == "dense":
            new = [arrays[0].T, arrays[1]]  # [out, in] -> [in, out]
        else:
            new = arrays  # gamma, beta, moving_mean, moving_variance
            layer.epsilon = 1e-5  # torch BatchNorm2d default (Keras MobileNetV2 uses 1e-3)
            layer.momentum = 0.9  # = torch momentum 0.1 (opposite conventions)
        shapes = [tuple(v.shape) for v in layer.get_weights()]
        if shapes != [tuple(a.shape) for a in new]:
            raise ValueError(
                f"Shape mismatch: Keras {layer.name} {shapes} vs torch {prefix} "
                f"{[a.shape for a in new]}."
            )
        layer.set_weights(new)
    return len(k_layers)


def symmetric_padding_mobilenet_v2(
    input_shape: tuple[int, int, int], include_top: bool, pooling: str | None
) -> Any:
    """``keras.applications.MobileNetV2(weights=None)`` rebuilt with torchvision's padding.

    Built on a ``ZeroPadding2D(1)`` of the input, then re-created from its config with ``Conv1``
    ``"valid"`` and every ``block_*_pad`` symmetric: each stride-2 layer sees the same pixels as
    in torchvision. Untrained (random) weights.
    """
    import keras

    inputs = keras.Input(shape=input_shape)
    padded = keras.layers.ZeroPadding2D(1, name="Conv1_pad")(inputs)
    model = keras.applications.MobileNetV2(
        input_tensor=padded, include_top=include_top, weights=None, pooling=pooling,
        classifier_activation=None,
    )
    config = model.get_config()
    for layer in config["layers"]:
        if layer["name"] == "Conv1":
            layer["config"]["padding"] = "valid"
        elif layer["class_name"] == "ZeroPadding2D":
            layer["config"]["padding"] = ((1, 1), (1, 1))
    config["name"] = f"mobilenetv2_1.00_{input_shape[0]}"
    return keras.Model.from_config(config)


def keras_mobilenet_v2(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    include_top: bool = True,
    pooling: str | None = None,
) -> Any:
    """Keras MobileNetV2 with the torchvision ImageNet weights ported in (see the module docstring).

    The architecture is ``keras.applications.MobileNetV2(weights=None)`` with torchvision's padding
    (:func:`symmetric_padding_mobilenet_v2`). Feed it :func:`torch_style_preprocess`-ed pixels. With
    ``include_top`` it outputs 1000 ImageNet *logits* (no softmax; class names in torchvision's
    ``MobileNet_V2_Weights.IMAGENET1K_V1.meta``); without, the last feature map [h, w, 1280], or
    [1280] with ``pooling="avg"``.
    """
    import torch
    import torchvision  # noqa: F401  (before TensorFlow loads: see the module docstring)

    asset, filename, _ = TORCH_BACKBONES["mobilenet_v2"]
    path = fetch(asset, progress=False) / filename
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = symmetric_padding_mobilenet_v2(input_shape, include_top, pooling)
    port_torch_mobilenet_v2(model, state)
    return model


def keras_backbone(
    name: str = "mobilenet_v2", input_shape: tuple[int, int, int] = (224, 224, 3)
) -> tuple[Any, Callable[[Any], Any]]:
    """A headless Keras ImageNet backbone (global-average-pooled output) and its preprocessing.

    ``"mobilenet_v2"`` (offline): :func:`keras_mobilenet_v2` + :func:`torch_style_preprocess`.
    ``"resnet50"`` (internet): the official Keras weights, ``keras.applications.ResNet50(weights=
    "imagenet")`` + ``keras.applications.resnet50.preprocess_input``. Both preprocessors take
    0..255 RGB pixels.
    """
    import keras

    if name == "mobilenet_v2":
        return keras_mobilenet_v2(input_shape, include_top=False, pooling="avg"), torch_style_preprocess
    if name == "resnet50":
        try:
            base = keras.applications.ResNet50(
                weights="imagenet", include_top=False, pooling="avg", input_shape=input_shape
            )
        except Exception as exc:  # the download's error type depends on the network failure
            raise AssetError(
                f"Could not download the official Keras ResNet50 ImageNet weights ({exc}). "
                "They need internet: switch BACKBONE back to 'mobilenet_v2' (offline)."
            ) from exc
        return base, keras.applications.resnet50.preprocess_input
    raise ValueError(f"Unknown backbone {name!r}; use 'mobilenet_v2' (offline) or 'resnet50'.")
