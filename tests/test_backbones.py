"""tlcourse.models: torchvision backbones and the torchvision -> Keras MobileNetV2 weight port."""

# isort: off
import torch
import torchvision  # before TensorFlow (see tlcourse.models.backbones)
import keras

# isort: on
import numpy as np
import pytest
from PIL import Image

import tlcourse as tl
from tlcourse.models import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    keras_backbone,
    keras_mobilenet_v2,
    port_torch_mobilenet_v2,
    torch_backbone,
    torch_style_preprocess,
)

EGYPTIAN_CAT = 285  # ImageNet class index


@pytest.fixture(scope="module")
def chelsea() -> np.ndarray:
    """The chelsea photo as float32 0..255 pixels, [1, 224, 224, 3]."""
    img = Image.open(tl.fetch("photo_chelsea", progress=False) / "chelsea.png").convert("RGB")
    return np.asarray(img.resize((224, 224), Image.Resampling.BILINEAR), dtype=np.float32)[None]


@pytest.fixture(scope="module")
def torch_logits(chelsea) -> np.ndarray:
    model, dim = torch_backbone("mobilenet_v2")
    assert dim == 1280 and not model.training
    x = (chelsea / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    with torch.no_grad():
        return model(torch.from_numpy(x.astype(np.float32)).permute(0, 3, 1, 2)).numpy()[0]


def test_torch_backbone_recognises_the_cat(torch_logits):
    categories = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
    assert torch_logits.shape == (1000,)
    assert categories[int(torch_logits.argmax())] == "Egyptian cat"


def test_keras_port_agrees_with_torch(chelsea, torch_logits):
    model = keras_mobilenet_v2()
    logits = np.asarray(model(torch_style_preprocess(chelsea)))[0]
    assert int(logits.argmax()) == int(torch_logits.argmax()) == EGYPTIAN_CAT
    # the same function, not just the same top class: padding and BatchNorm epsilon match torch
    np.testing.assert_allclose(logits, torch_logits, atol=1e-3)
    bn = model.get_layer("bn_Conv1")
    assert bn.epsilon == pytest.approx(1e-5) and bn.momentum == pytest.approx(0.9)


def test_small_inputs_give_torch_features():
    """At 32 px the stride-2 padding convention decides everything (one pixel is 1/32 of the image)."""
    model, _ = torch_backbone("mobilenet_v2")
    model.classifier = torch.nn.Identity()
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    normalised = np.asarray(torch_style_preprocess(x))
    with torch.no_grad():
        expected = model(torch.from_numpy(normalised.copy()).permute(0, 3, 1, 2)).numpy()
    base, preprocess = keras_backbone("mobilenet_v2", (32, 32, 3))
    np.testing.assert_allclose(np.asarray(base(preprocess(x))), expected, atol=1e-4)
    assert base.get_layer("Conv1").padding == "valid"  # torch-style padding, see the docstring
    assert base.get_layer("block_1_pad").padding == ((1, 1), (1, 1))


def test_unknown_backbones_are_rejected():
    with pytest.raises(ValueError, match="Unknown backbone"):
        keras_backbone("vgg16", (64, 64, 3))
    with pytest.raises(ValueError, match="Unknown backbone"):
        torch_backbone("vgg16")


def test_torch_style_preprocess_matches_torchvision_normalisation():
    x = np.random.default_rng(0).uniform(0, 255, (2, 4, 4, 3)).astype(np.float32)
    expected = (x / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(np.asarray(torch_style_preprocess(x)), expected, atol=1e-4)


def test_port_refuses_a_different_architecture():
    state = torchvision.models.mobilenet_v2().state_dict()
    narrow = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), alpha=0.5, weights=None, classifier_activation=None
    )
    with pytest.raises(ValueError, match="Shape mismatch: Keras Conv1"):
        port_torch_mobilenet_v2(narrow, state)
