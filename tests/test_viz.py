"""tlcourse.viz: figures build headless; Grad-CAM finds a synthetic object."""

from __future__ import annotations

try:  # triton (loaded lazily by torch) segfaults if loaded after TensorFlow: load it first
    import triton  # noqa: F401
except ImportError:
    pass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from tlcourse import viz  # noqa: E402

SIZE = 32
ROWS, COLS = slice(4, 12), slice(20, 28)  # the "object": top-right, so a flipped map fails


def scene() -> np.ndarray:
    """A dark 32x32 RGB image with one bright square (the object), float32 [H, W, 3]."""
    img = np.zeros((SIZE, SIZE, 3), np.float32)
    img[ROWS, COLS] = 1.0
    return img


def assert_map_on_object(cam: np.ndarray) -> None:
    assert cam.shape == (SIZE, SIZE) and cam.dtype == np.float32
    assert 0.0 <= cam.min() and cam.max() == pytest.approx(1.0)
    r, c = np.unravel_index(cam.argmax(), cam.shape)
    assert ROWS.start <= r < ROWS.stop and COLS.start <= c < COLS.stop, (r, c)
    inside = cam[ROWS, COLS].mean()
    outside = (cam.sum() - cam[ROWS, COLS].sum()) / (cam.size - 64)
    assert inside > 5 * outside, (inside, outside)


def torch_detector() -> nn.Sequential:
    """Conv (stride 2, so the map is smaller than the input) -> GAP -> 2 classes.

    Class 0's score grows with the brightness the conv sees; class 1's shrinks with it.
    """
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.fill_(1.0 / 27)
        model[0].bias.zero_()
        model[4].weight.copy_(torch.tensor([[1.0] * 4, [-1.0] * 4]))
        model[4].bias.zero_()
    return model


def test_grad_cam_torch_highlights_the_object():
    model = torch_detector().requires_grad_(False)  # works on a frozen model too
    x = torch.from_numpy(scene()).permute(2, 0, 1)
    assert_map_on_object(viz.grad_cam_torch(model, model[1], x, class_idx=0))
    batch = viz.grad_cam_torch(model, model[1], torch.stack([x, x]))  # predicted class: 0
    assert batch.shape == (2, SIZE, SIZE)
    assert_map_on_object(batch[1])
    # Evidence *against* class 1 is cut by the ReLU: nothing is highlighted.
    assert viz.grad_cam_torch(model, model[1], x, class_idx=1).max() == 0.0
    model.train()
    viz.grad_cam_torch(model, model[1], x)
    assert model.training, "grad_cam_torch must restore the model's mode"


def test_grad_cam_keras_highlights_the_object():
    pytest.importorskip("tensorflow")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("grad_cam_keras needs the TensorFlow backend")
    features = keras.Sequential([
        keras.Input((SIZE, SIZE, 3)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False,
                            kernel_initializer=keras.initializers.Constant(1.0 / 27)),
        keras.layers.ReLU(),
    ])
    head = keras.Sequential([
        keras.Input((SIZE // 2, SIZE // 2, 4)),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant([[1.0, -1.0]] * 4)),
    ])
    img = scene()
    assert_map_on_object(viz.grad_cam_keras(features, head, img, class_idx=0))
    batch = viz.grad_cam_keras(features, head, np.stack([img, img]))
    assert batch.shape == (2, SIZE, SIZE)
    assert_map_on_object(batch[0])
    assert viz.grad_cam_keras(features, head, img, class_idx=1).max() == 0.0
    # An inner layer's map: features returns (map, what the head reads).
    pair = keras.Model(features.inputs, [features.layers[0].output, features.outputs[0]])
    assert_map_on_object(viz.grad_cam_keras(pair, head, img, class_idx=0))
    with pytest.raises(ValueError, match="4-D feature map"):
        viz.grad_cam_keras(keras.Sequential([features, keras.layers.Flatten()]), head, img)


def test_plot_history_torch_and_keras_styles():
    torch_hist = {"epoch": [1, 2, 3], "train_loss": [1.0, 0.8, 0.5], "train_acc": [0.5, 0.6, 0.8],
                  "val_loss": [1.1, 0.9, 0.7], "val_acc": [0.4, 0.6, 0.7], "seconds": [1, 1, 1]}
    fig = viz.plot_history(torch_hist, fine_tune_start=2, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    lines = fig.axes[1].get_lines()
    assert [list(line.get_ydata()) for line in lines[:2]] == [[0.5, 0.6, 0.8], [0.4, 0.6, 0.7]]
    assert list(lines[2].get_xdata()) == [2.5, 2.5], "fine-tuning marker after epoch 2"
    two_stages = {k: v[:2] + v[:1] for k, v in torch_hist.items()}  # "epoch" restarts: 1, 2, 1
    assert list(viz.plot_history(two_stages).axes[0].get_lines()[0].get_xdata()) == [1, 2, 3]
    keras_hist = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.9],
                  "val_loss": [1.0, 0.6], "val_accuracy": [0.5, 0.8]}
    fig = viz.plot_history(keras_hist)
    assert list(fig.axes[1].get_lines()[1].get_ydata()) == [0.5, 0.8]
    with pytest.raises(ValueError, match="no epochs"):
        viz.plot_history({"loss": []})
    with pytest.raises(TypeError, match="dict of lists"):
        viz.plot_history([1, 2])


def test_plot_confusion_matrix_counts():
    fig = viz.plot_confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], ["a", "b", "c"])
    ax = fig.axes[0]
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["1", "1", "0", "0", "1", "0", "1", "0", "2"]
    assert "accuracy 0.667" in ax.get_title()


def test_embedding_learning_curve_and_saliency_figures():
    rng = np.random.default_rng(0)
    feats, labels = rng.normal(size=(40, 8)), np.arange(40) % 4
    fig = viz.plot_embedding_2d(feats, labels, ["a", "b", "c", "d"], method="pca")
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == 40
    with pytest.raises(ValueError, match="'pca' or 'tsne'"):
        viz.plot_embedding_2d(feats, labels, list("abcd"), method="umap")

    fig = viz.plot_learning_curve([5, 10, 50], {"pretrained": [0.6, 0.7, 0.8],
                                                "scratch": [0.3, 0.5, 0.75]})
    assert len(fig.axes[0].get_lines()) == 2 and fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="2 values for 3 sizes"):
        viz.plot_learning_curve([5, 10, 50], {"bad": [0.1, 0.2]})

    imgs = np.zeros((3, 16, 16, 3), np.uint8)
    maps = rng.random((2, 3, 16, 16))
    fig = viz.show_saliency(imgs, maps, titles=list("xyz"), row_labels=["before", "after"])
    assert len(fig.axes) == 9
    with pytest.raises(ValueError, match="maps must be"):
        viz.show_saliency(imgs, maps[:, :2])


def test_show_images_one_row_with_titles():
    imgs = np.zeros((3, 8, 8, 3), dtype=np.uint8)
    fig = viz.show_images(imgs, titles=["a", "b", "c"])
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="2 titles for 3 images"):
        viz.show_images(imgs, titles=["a", "b"])
