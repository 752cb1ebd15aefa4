"""Checks of the interview drills (lesson 08).

Each function returns ``None`` when the answer is right, else a message that explains the
mistake; pass it as the ``test`` of :func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def replaced_head(model: Any, n_classes: int, reference: Mapping[str, Any]) -> str | None:
    """Drill 1: a torchvision classifier whose last layer predicts ``n_classes``, all else frozen.

    ``reference``: the pretrained model's ``state_dict()`` before the change; the backbone's
    tensors must be unchanged and frozen, the new last ``nn.Linear`` trainable.
    """
    import torch
    from torch import nn

    if not isinstance(model, nn.Module):
        return f"give the model (an nn.Module), not a {type(model).__name__}."
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        return "the model has no nn.Linear layer: the new head should be one."
    head = linears[-1]
    if head.out_features != n_classes:
        return (f"the last Linear layer has {head.out_features} outputs; the new task has "
                f"{n_classes} classes.")  # fmt: skip
    head_ids = {id(p) for p in head.parameters()}
    if not all(p.requires_grad for p in head.parameters()):
        return "the new head is frozen too: only the backbone should be frozen."
    trainable_base = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in head_ids]
    if trainable_base:
        return (f"{len(trainable_base)} backbone tensors still train (e.g. {trainable_base[0]}): "
                "call model.requires_grad_(False) before creating the new head, or freeze them.")
    state = model.state_dict()
    head_keys = {k for k in state if any(state[k] is p for p in head.parameters())}
    for key, value in reference.items():
        if key in head_keys or key not in state:
            continue
        if state[key].shape == value.shape and not torch.equal(state[key], value):
            return f"the backbone tensor {key} changed: keep the pretrained weights as they were."
    x = torch.zeros(2, 3, 64, 64)
    model.eval()
    with torch.no_grad():
        out = model(x)
    if tuple(out.shape) != (2, n_classes):
        return f"a batch of 2 images gives an output of shape {tuple(out.shape)}, not (2, {n_classes})."
    return None


def keras_two_stage(model: Any, base: Any, n_top: int, lr_stage1: float) -> str | None:
    """Drill 3: the Keras model after stage 2, with the top ``n_top`` layers of ``base`` trainable.

    Expected: the last ``n_top`` layers of ``base`` that have weights are trainable except
    BatchNormalization, which stays frozen (inference mode); every other base layer is frozen;
    the model was compiled again with a learning rate at least 10x below ``lr_stage1``.
    """
    import keras

    if not isinstance(model, keras.Model):
        return f"give the Keras model, not a {type(model).__name__}."
    weighted = [layer for layer in base.layers if layer.weights]
    top = {id(layer) for layer in weighted[-n_top:]}
    for layer in weighted:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        if is_bn and layer.trainable:
            return (f"BatchNormalization layer {layer.name} is trainable: in Keras 3 fit() would then "
                    "replace its moving statistics; set trainable = False on every BN layer.")
        if not is_bn and (id(layer) in top) != layer.trainable:
            want = "trainable" if id(layer) in top else "frozen"
            return f"layer {layer.name} should be {want} (top {n_top} weighted layers of the base)."
    if model.optimizer is None or not model.compiled:
        return "compile the model again after changing trainable: Keras applies it at compile()."
    lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    if lr > lr_stage1 / 10 * (1 + 1e-6):
        return (f"stage 2 compiled with learning rate {lr:g}; use at least 10x less than stage 1's "
                f"{lr_stage1:g} so the pretrained weights move only a little.")
    return None


def report_choice(answer: Any, table: Mapping[str, Mapping[str, float]]) -> str | None:
    """Decision exercise: ``answer = (config, number)`` chosen on validation, reported on test.

    ``table`` maps a configuration to ``{"val": ..., "test": ...}``; the check is lesson 02/03's
    :func:`tlcourse.checks.vision.chosen_on_validation`.
    """
    from .vision import chosen_on_validation

    pairs = {name: (row["val"], row["test"]) for name, row in table.items()}
    return chosen_on_validation(pairs, "configuration")(answer)
