"""Exercise checks for the fine-tuning lesson (03).

Each function returns ``None`` when the answer is right, else a message explaining the mistake;
pass it as the ``test`` of :func:`tlcourse.checks.exercise`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import Test, chosen_on_validation
from .vision import choice


def _numel(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def unfrozen_count(answer: Any, blocks: Sequence[Any], head: Any, n_blocks: int) -> str | None:
    """Check the number of trainable parameters after unfreezing the top ``n_blocks`` and the head.

    ``blocks``: the backbone's blocks (torch modules) in input-to-output order; ``head``: the new
    classifier.
    """
    top = blocks[len(blocks) - n_blocks :] if n_blocks else []
    in_blocks = sum(_numel(b) for b in top)
    expected = in_blocks + _numel(head)
    if not isinstance(answer, int):
        return f"answer with an int (a number of parameters), got {type(answer).__name__}."
    if answer == expected:
        print(f"right: {in_blocks:,} in the top {n_blocks} blocks + {_numel(head):,} in the head.")
        return None
    if answer == in_blocks:
        return f"{answer:,} counts the blocks only: the new head trains too."
    if answer == _numel(head):
        return f"{answer:,} is the head alone: stage 2 also trains the top {n_blocks} blocks."
    if n_blocks and answer == sum(_numel(b) for b in blocks[:n_blocks]) + _numel(head):
        return f"{answer:,} counts the *first* {n_blocks} blocks; 'top' means nearest the output."
    return f"{answer:,} is not the number of trainable parameters ({expected:,} expected)."


def param_groups(
    groups: Any,
    blocks: Sequence[Any],
    head: Any,
    lr_head: float,
    lr_top: float,
    decay: float,
) -> str | None:
    """Check discriminative-learning-rate parameter groups for ``torch.optim`` optimizers.

    Expected: every parameter of ``head`` in groups with ``lr_head``; every parameter of
    ``blocks[i]`` in groups with ``lr_top * decay ** (len(blocks) - 1 - i)`` (the top block
    gets ``lr_top``); no parameter twice.
    """
    if not isinstance(groups, list | tuple) or not all(isinstance(g, dict) for g in groups):
        return "give a list of dicts, each {'params': [...], 'lr': ...} (an optimizer's param groups)."
    seen: dict[int, float] = {}
    for n, g in enumerate(groups):
        if "params" not in g or "lr" not in g:
            return f"group {n} needs the keys 'params' and 'lr', it has {sorted(g)}."
        for p in list(g["params"]):
            if id(p) in seen:
                return f"group {n} repeats a parameter already in an earlier group (torch refuses that)."
            seen[id(p)] = float(g["lr"])
    wanted = {id(p): lr_head for p in head.parameters()}
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        for p in block.parameters():
            wanted[id(p)] = lr_top * decay ** (last - i)
    missing = [k for k in wanted if k not in seen]
    if missing:
        return f"{len(missing)} parameter tensors of the blocks or the head are in no group."
    extra = [k for k in seen if k not in wanted]
    if extra:
        return f"{len(extra)} parameter tensors in your groups belong to neither the blocks nor the head."
    for i in (last, 0):
        p = next(iter(blocks[i].parameters()), None)
        if p is not None and abs(seen[id(p)] - wanted[id(p)]) > 1e-12 * max(1.0, wanted[id(p)]):
            where = "top" if i == last else "bottom"
            return (f"the {where} block (index {i}) has lr {seen[id(p)]:.3g}, expected "
                    f"{wanted[id(p)]:.3g} = lr_top * decay ** {last - i}.")
    head_p = next(iter(head.parameters()))
    if abs(seen[id(head_p)] - lr_head) > 1e-12:
        return f"the head has lr {seen[id(head_p)]:.3g}, expected lr_head = {lr_head:.3g}."
    wrong = [k for k in wanted if abs(seen[k] - wanted[k]) > 1e-12 * max(1.0, wanted[k])]
    if wrong:
        return f"{len(wrong)} parameter tensors have the wrong learning rate for their block's depth."
    bottom = lr_top * decay**last
    print(f"right: every tensor is in exactly one group; the rate falls from {lr_head:g} (head) and "
          f"{lr_top:g} (top block) to {bottom:.2g} (block 0), so the generic early filters move least.")
    return None


def bn_updates(
    answer: Any, base: Any, block_of: Callable[[str], int], n_blocks: int, n_unfrozen: int
) -> str | None:
    """Check ``(a, b)``: BatchNorm layers of a Keras ``base`` whose moving statistics ``fit()``
    updates after unfreezing its top ``n_unfrozen`` of ``n_blocks`` blocks (``block_of(layer
    name)`` gives a layer's block), (a) with BatchNorm unfrozen and the base called with
    ``training=False``, (b) with the BatchNorm layers kept ``trainable = False``.

    Keras 3's ``fit()`` passes ``training=True`` to every layer (overriding the graph's
    ``training=False``), so (a) is every BatchNorm layer of the unfrozen blocks and (b) is 0.
    """
    expected = sum(type(layer).__name__ == "BatchNormalization"
                   and block_of(layer.name) >= n_blocks - n_unfrozen
                   for layer in base.layers)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return "answer with a tuple of two ints: (a, b)."
    pitfall, recipe = answer
    if pitfall == 0:
        return ("(a) is not 0: in Keras 3, fit() passes training=True to every layer and overrides "
                "the training=False written into the graph; every trainable BN layer updates.")
    if pitfall != expected:
        return (f"(a) = {pitfall}? Count the BatchNormalization layers in the top {n_unfrozen} "
                f"blocks ({expected}).")
    if recipe != 0:
        return (f"(b) = {recipe}? A BatchNormalization layer with trainable = False always runs in "
                "inference mode: its moving statistics never change.")
    print(f"right: (a) all {expected} BatchNorm layers of the top {n_unfrozen} blocks, because fit() "
          "overrides training=False; (b) none, because trainable = False forces inference mode.")
    return None


def lr_choice(sweep: Mapping[float, Mapping[str, float]]) -> Test:
    """Answer ``(learning-rate factor, test accuracy)``: the stage-2 factor of ``sweep`` (factor ->
    ``{"val": ..., "test": ...}``) with the best validation accuracy, and its test accuracy."""
    return chosen_on_validation({k: (v["val"], v["test"]) for k, v in sweep.items()},
                                "the learning-rate factor")


def augmentation_quiz() -> Test:
    """Lesson 03: which augmentation is *not* label-preserving for Fashion-MNIST? Answer a-d.

    (a) horizontal flip; (b) shift by up to 10%; (c) vertical flip; (d) small brightness change.
    """
    return choice("c", {
        "a": "a mirrored shirt is still a shirt: left-right flips keep the label (the lesson uses it).",
        "b": "a shirt shifted by a few pixels is still a shirt (the lesson uses it).",
        "c": "right: an upside-down ankle boot or dress never occurs in the test images; the model "
             "spends capacity on a case it will never see, and shoes and bags get easier to confuse.",
        "d": "brightness changes keep the label; they help when the test images' exposure varies.",
    })
