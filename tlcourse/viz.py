"""Plots and saliency maps shared by the lessons.

Every plotting function returns its matplotlib ``Figure``. Inside a Jupyter kernel with the inline
backend the figure is also displayed once and closed (so it is not shown twice, and dozens of
figures do not pile up); elsewhere (scripts, tests on the Agg backend) nothing is shown and
nothing blocks. In a notebook assign the result (``fig = tl.viz.plot_history(h)``) so the
returned figure is not displayed a second time.

Grad-CAM (Selvaraju et al., 2017): weight each channel of a convolutional feature map by the mean
gradient of the class score with respect to it, sum over channels, keep the positive part and
upsample to the input size. :func:`grad_cam_torch` hooks a layer of a torch model;
:func:`grad_cam_keras` takes the Keras model in two pieces (image -> feature map, feature map ->
scores), which works for the usual ``inputs -> base -> head`` functional model, also for a
feature map inside the base.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

_ALIASES = {"accuracy": "acc", "val_accuracy": "val_acc", "loss": "loss", "val_loss": "val_loss"}


def _finish(fig: Figure) -> Figure:
    """Draw ``fig``; in an inline Jupyter kernel display it once and close it."""
    fig.canvas.draw_idle()
    if "inline" in matplotlib.get_backend().lower():
        try:
            from IPython.display import display
        except ImportError:  # pragma: no cover - the inline backend implies IPython
            return fig
        display(fig)
        plt.close(fig)
    return fig


def _history_dict(history: Any) -> dict[str, list[float]]:
    """Accept a :func:`tlcourse.train.train_torch` history, a Keras ``History`` or its dict."""
    raw = getattr(history, "history", history)
    if not isinstance(raw, Mapping):
        raise TypeError(
            "plot_history needs a dict of lists (train_torch's history, or keras History.history); "
            f"got {type(history).__name__}."
        )
    out: dict[str, list[float]] = {}
    for key, values in raw.items():
        name = _ALIASES.get(key, key)
        if name in ("loss", "acc"):
            name = "train_" + name
        out[name] = [float(v) for v in values]
    return out


def plot_history(
    history: Any, fine_tune_start: int | None = None, title: str = ""
) -> Figure:
    """Loss and accuracy per epoch, train and validation, side by side.

    ``history``: the dict returned by ``train_torch``, a Keras ``History`` or ``History.history``
    (several stages can be concatenated first; epochs are numbered 1..n by position).
    ``fine_tune_start``: the number of epochs trained *before* fine-tuning began; a dashed line is
    drawn right after that epoch.
    """
    h = _history_dict(history)
    n = len(h.get("train_loss") or h.get("val_loss") or [])
    if n == 0:
        raise ValueError("plot_history: the history has no epochs (no 'loss'/'train_loss' values).")
    epochs = list(range(1, n + 1))  # by position: concatenated stages restart their own counts
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric, label in zip(axes, ("loss", "acc"), ("loss", "accuracy"), strict=True):
        for split, style in (("train", "-o"), ("val", "-s")):
            values = h.get(f"{split}_{metric}")
            if values and not all(np.isnan(values)):
                ax.plot(epochs[: len(values)], values, style, ms=3, label=split)
        if fine_tune_start is not None:
            ax.axvline(fine_tune_start + 0.5, color="k", ls="--", lw=1)
            ax.text(fine_tune_start + 0.6, 0.98, "fine-tuning starts", rotation=90, va="top",
                    fontsize=8, transform=ax.get_xaxis_transform())
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig)


def plot_confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    title: str = "",
) -> Figure:
    """Confusion matrix (rows: true class, columns: predicted), counts written in each cell."""
    from sklearn.metrics import confusion_matrix

    k = len(class_names)
    cm = confusion_matrix(np.asarray(y_true), np.asarray(y_pred), labels=list(range(k)))
    size = max(3.5, 0.5 * k + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k), class_names, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    half = cm.max() / 2 if cm.size else 0
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if cm[i, j] > half else "black")
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set_title(f"{title}{' - ' if title else ''}accuracy {acc:.3f}", fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return _finish(fig)


def plot_embedding_2d(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    class_names: Sequence[str],
    method: str = "pca",
    title: str = "",
    seed: int = 0,
) -> Figure:
    """Scatter of ``features`` [N, D] projected to 2-D (``"pca"`` or ``"tsne"``), coloured by class."""
    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    y = np.asarray(labels)
    if method == "pca":
        from sklearn.decomposition import PCA

        xy = PCA(n_components=2, random_state=seed).fit_transform(x)
    elif method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30, max(2, (len(x) - 1) // 3)))
        xy = TSNE(n_components=2, random_state=seed, perplexity=perplexity,
                  init="pca").fit_transform(x)
    else:
        raise ValueError(f"plot_embedding_2d: method must be 'pca' or 'tsne', got {method!r}.")
    fig, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for c, name in enumerate(class_names):
        m = y == c
        ax.scatter(xy[m, 0], xy[m, 1], s=8, alpha=0.7, color=cmap(c % cmap.N), label=name)
    ax.set_title(title or f"{method.upper()} of the features")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2, loc="best")
    fig.tight_layout()
    return _finish(fig)


def plot_learning_curve(
    sizes: Sequence[int],
    curves: Mapping[str, Sequence[float]],
    xlabel: str = "labelled examples per class",
    ylabel: str = "test accuracy",
    title: str = "",
) -> Figure:
    """One line per entry of ``curves`` (name -> metric per size), x on a log scale."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        if len(values) != len(sizes):
            raise ValueError(
                f"plot_learning_curve: curve {name!r} has {len(values)} values for "
                f"{len(sizes)} sizes."
            )
        ax.plot(sizes, values, "-o", label=name)
    ax.set_xscale("log")
    ax.set_xticks(list(sizes), [str(s) for s in sizes])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return _finish(fig)


def _normalise_maps(cam: np.ndarray) -> np.ndarray:
    """Scale each map [N, H, W] to [0, 1] by its own maximum (all-zero maps stay zero)."""
    peak = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1), 0.0).astype(np.float32)


def _class_indices(scores: Any, class_idx: int | Sequence[int] | None, n: int) -> list[int]:
    if class_idx is None:
        return [int(i) for i in np.asarray(scores).argmax(axis=1)]
    if isinstance(class_idx, int | np.integer):
        return [int(class_idx)] * n
    idx = [int(i) for i in class_idx]
    if len(idx) != n:
        raise ValueError(f"grad-cam: {len(idx)} class indices for a batch of {n} images.")
    return idx


def grad_cam_torch(
    model: Any, target_layer: Any, x: Any, class_idx: int | Sequence[int] | None = None
) -> np.ndarray:
    """Grad-CAM of a torch model for the output of ``target_layer`` (a module inside ``model``).

    ``x``: one image [C, H, W] or a batch [N, C, H, W] (already normalised, on the model's
    device). ``class_idx``: the class to explain (int, one per image, or None for the predicted
    class). Returns float32 maps in [0, 1], [H, W] (or [N, H, W] for a batch). Works on frozen
    models too; the model is run in eval mode and its previous mode restored.
    """
    import torch
    import torch.nn.functional as F

    single = x.dim() == 3
    xb = x.unsqueeze(0) if single else x
    store: dict[str, Any] = {}

    def hook(_module: Any, _inputs: Any, output: Any) -> Any:
        if not output.requires_grad:  # frozen layers: make the map a leaf we can differentiate
            output = output.detach().requires_grad_(True)
        store["act"] = output
        return output

    handle = target_layer.register_forward_hook(hook)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            scores = model(xb)
            idx = _class_indices(scores.detach().cpu(), class_idx, len(xb))
            picked = scores[torch.arange(len(xb)), torch.tensor(idx, device=scores.device)]
            act = store["act"]
            grads = torch.autograd.grad(picked.sum(), act)[0]
    finally:
        handle.remove()
        model.train(was_training)
    weights = grads.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * act).sum(dim=1, keepdim=True)).detach()
    cam = F.interpolate(cam, size=xb.shape[-2:], mode="bilinear", align_corners=False)
    maps = _normalise_maps(cam[:, 0].cpu().numpy())
    return maps[0] if single else maps


def grad_cam_keras(
    features: Callable[..., Any],
    head: Callable[..., Any],
    x: Any,
    class_idx: int | Sequence[int] | None = None,
) -> np.ndarray:
    """Grad-CAM of a Keras model given as two callables (TensorFlow backend).

    ``features`` maps images [N, H, W, C] to the conv feature map to explain [N, h, w, K], or to
    a pair ``(feature map, z)`` when the map is an inner layer and ``z`` is what ``head`` reads
    (e.g. ``keras.Model(base.input, [base.get_layer(name).output, base.output])``). ``head`` maps
    the feature map (or ``z``) to class scores [N, classes]. ``x``: [H, W, C] or [N, H, W, C].
    Keras layers and models are called with ``training=False``. Returns float32 maps in [0, 1],
    [H, W] or [N, H, W].
    """
    import tensorflow as tf

    x = tf.convert_to_tensor(np.asarray(x, dtype=np.float32))
    single = len(x.shape) == 3
    xb = x[None] if single else x

    def call(fn: Callable[..., Any], t: Any) -> Any:
        return fn(t, training=False) if hasattr(fn, "trainable_weights") else fn(t)

    with tf.GradientTape() as tape:
        tape.watch(xb)  # records every op, frozen (non-trainable) layers included
        out = call(features, xb)
        fmap, z = (out[0], out[1]) if isinstance(out, list | tuple) else (out, out)
        if len(fmap.shape) != 4:
            raise ValueError(
                f"grad_cam_keras: `features` must return a 4-D feature map [N, h, w, K], "
                f"got shape {tuple(fmap.shape)}."
            )
        scores = tf.convert_to_tensor(call(head, z))
        idx = _class_indices(scores.numpy(), class_idx, int(xb.shape[0]))
        picked = tf.reduce_sum(scores * tf.one_hot(idx, scores.shape[-1], dtype=scores.dtype), 1)
    grads = tape.gradient(picked, fmap)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    cam = tf.nn.relu(tf.reduce_sum(weights * fmap, axis=-1, keepdims=True))
    cam = tf.image.resize(cam, tuple(xb.shape[1:3]), method="bilinear")
    maps = _normalise_maps(cam[..., 0].numpy())
    return maps[0] if single else maps


def show_images(
    images: Sequence[np.ndarray] | np.ndarray, titles: Sequence[str] | None = None
) -> Figure:
    """One row of images [H, W, 3] or [H, W] (uint8, or floats in [0, 1]), with optional titles."""
    imgs = [np.asarray(im) for im in images]
    if not imgs:
        raise ValueError("show_images: no images given.")
    if titles is not None and len(titles) != len(imgs):
        raise ValueError(f"show_images: {len(titles)} titles for {len(imgs)} images.")
    fig, axes = plt.subplots(1, len(imgs), figsize=(1.6 * len(imgs), 1.9), squeeze=False)
    for j, im in enumerate(imgs):
        shown = im.astype(np.float32) / 255.0 if im.dtype == np.uint8 else im
        axes[0, j].imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        axes[0, j].axis("off")
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=8)
    fig.tight_layout()
    return _finish(fig)


def show_saliency(
    images: Sequence[np.ndarray] | np.ndarray,
    maps: Sequence[np.ndarray] | np.ndarray,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    alpha: float = 0.45,
) -> Figure:
    """Images in the first row, each saliency map overlaid (jet colormap) in the rows below.

    ``images``: N images [H, W, 3] or [H, W] (uint8, or floats in [0, 1]). ``maps``: one set
    [N, H, W] or several sets [R, N, H, W] (e.g. before / after fine-tuning, labelled by
    ``row_labels``). ``titles``: one per image.
    """
    imgs = [np.asarray(im) for im in images]
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim == 3:
        m = m[None]
    if m.ndim != 4 or m.shape[1] != len(imgs):
        raise ValueError(
            f"show_saliency: maps must be [N, H, W] or [R, N, H, W] for {len(imgs)} images, "
            f"got shape {tuple(np.asarray(maps).shape)}."
        )
    rows, n = 1 + m.shape[0], len(imgs)
    fig, axes = plt.subplots(rows, n, figsize=(2.1 * n, 2.2 * rows), squeeze=False)
    for j, im in enumerate(imgs):
        shown = im.astype(np.float32) / 255.0 if im.dtype == np.uint8 else im
        axes[0, j].imshow(shown, cmap="gray" if shown.ndim == 2 else None)
        if titles is not None:
            axes[0, j].set_title(titles[j], fontsize=8)
        for r in range(m.shape[0]):
            axes[r + 1, j].imshow(shown, cmap="gray" if shown.ndim == 2 else None)
            axes[r + 1, j].imshow(m[r, j], cmap="jet", alpha=alpha, vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("image", fontsize=8)
    for r in range(m.shape[0]):
        label = row_labels[r] if row_labels is not None else "saliency"
        axes[r + 1, 0].set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return _finish(fig)
