"""A plain PyTorch training loop for the lessons: progress bar, history, best-on-validation weights.

The loop is deliberately ordinary (``model.train()``, forward, ``loss.backward()``,
``optimizer.step()``) so a lesson can show it once and then call :func:`train_torch`. Two things
it does that hand-written loops often forget:

* **model selection on validation only**: it keeps a copy of the weights with the best
  validation accuracy and restores them at the end; the test split is never looked at;
* **the PyTorch side of the BatchNorm pitfall**: ``model.train()`` puts *every* BatchNorm layer
  in training mode, so even a frozen backbone (``requires_grad_(False)``) keeps updating its
  running mean/variance from the new data. After ``model.train()`` the loop calls
  :func:`freeze_bn_stats`, which puts back into eval mode each BatchNorm layer whose
  parameters are all frozen: frozen means frozen, statistics included. (To keep the BatchNorm
  layers of unfrozen blocks out of training mode too, freeze their parameters as well.)

Freezing itself (``requires_grad_(False)``) is the caller's job, so the lesson shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")


def count_params(model: nn.Module) -> tuple[int, int]:
    """(trainable, total) number of parameters (scalars, not tensors) of a torch model."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, total


def frozen_batchnorms(model: nn.Module) -> list[nn.Module]:
    """BatchNorm layers of ``model`` that have parameters and none of them trainable.

    BatchNorm layers without affine parameters (``affine=False``) are never counted as frozen.
    """
    out = []
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            params = list(module.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                out.append(module)
    return out


def freeze_bn_stats(model: nn.Module) -> int:
    """Put every frozen BatchNorm layer (see :func:`frozen_batchnorms`) in eval mode.

    Call it after ``model.train()``: eval-mode BatchNorm normalises with its stored running
    statistics and does not update them. Returns how many layers it switched.
    """
    layers = frozen_batchnorms(model)
    for layer in layers:
        layer.eval()
    return len(layers)


def _batches(loader: Any) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def evaluate_torch(
    model: nn.Module,
    loader: Any,
    device: Any,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, Any]:
    """Evaluate ``model`` (in eval mode, no gradients) on every batch ``(x, y)`` of ``loader``.

    Returns ``loss`` (mean per example, float), ``acc`` (fraction in [0, 1]), ``y_true`` and
    ``y_pred`` (int64 arrays, shape [N]) and ``probs`` (float32 softmax array, shape [N, classes]).
    The model's train/eval mode is restored afterwards.
    """
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    was_training = model.training
    model.eval()
    total_loss, y_true, probs = 0.0, [], []
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            total_loss += float(loss_fn(logits, y)) * len(y)
            probs.append(torch.softmax(logits.float(), dim=1).cpu())
            y_true.append(y.cpu())
    model.train(was_training)
    if not y_true:
        raise ValueError("evaluate_torch: the loader yielded no batches (is the split empty?).")
    p = torch.cat(probs).numpy().astype(np.float32)
    t = torch.cat(y_true).numpy().astype(np.int64)
    pred = p.argmax(axis=1).astype(np.int64)
    return {
        "loss": total_loss / len(t),
        "acc": float((pred == t).mean()),
        "y_true": t,
        "y_pred": pred,
        "probs": p,
    }


def train_torch(
    model: nn.Module,
    train_loader: Any,
    val_loader: Any,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    device: Any,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    scheduler: Any = None,
    scheduler_per_batch: bool = False,
    desc: str = "",
    log: bool = True,
) -> dict[str, list[float]]:
    """Train for ``epochs`` epochs; keep and finally restore the weights with the best ``val_acc``.

    Each epoch: ``model.train()``, then :func:`freeze_bn_stats` (frozen BatchNorm layers stay in
    eval mode), one pass over ``train_loader`` with ``optimizer``, ``scheduler.step()`` if given
    (once per epoch, or after every optimizer step with ``scheduler_per_batch=True``, as warm-up
    and cosine schedules counted in steps need), then :func:`evaluate_torch` on ``val_loader``. With ``val_loader=None`` there is no selection
    and the last weights are kept (``val_loss``/``val_acc`` are NaN).

    Returns the history: lists ``epoch`` (1-based), ``train_loss``, ``train_acc`` (running means
    over the epoch, in training mode), ``val_loss``, ``val_acc`` and ``seconds`` (wall-clock time
    of the epoch's training pass, excluding validation). ``log`` prints one line per epoch (the
    tqdm bar may not render everywhere, e.g. in a static notebook view).
    """
    if epochs < 1:
        raise ValueError(f"train_torch: epochs must be >= 1, got {epochs}.")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(
            "train_torch: the model has no trainable parameters; unfreeze something first "
            "(e.g. model.classifier.requires_grad_(True))."
        )
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    model.to(device)
    history: dict[str, list[float]] = {k: [] for k in HISTORY_KEYS}
    best_acc, best_state, best_epoch = -1.0, None, 0
    n_batches = _batches(train_loader)
    bar = tqdm(total=epochs * n_batches if n_batches else None, desc=desc or "train", leave=False)
    for epoch in range(1, epochs + 1):
        model.train()
        freeze_bn_stats(model)
        start = time.perf_counter()
        seen, loss_sum, correct = 0, 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad(set_to_none=True)
            logits = model(x)
            loss = loss_fn(logits, y)
            loss.backward()
            optimizer.step()
            if scheduler is not None and scheduler_per_batch:
                scheduler.step()
            seen += len(y)
            loss_sum += float(loss.detach()) * len(y)
            correct += int((logits.detach().argmax(dim=1) == y).sum())
            bar.update(1)
        if scheduler is not None and not scheduler_per_batch:
            scheduler.step()
        seconds = time.perf_counter() - start
        if seen == 0:
            bar.close()
            raise ValueError("train_torch: the training loader yielded no batches.")
        if val_loader is not None:
            val = evaluate_torch(model, val_loader, device, loss_fn)
            val_loss, val_acc = val["loss"], val["acc"]
        else:
            val_loss = val_acc = float("nan")
        for key, value in zip(
            HISTORY_KEYS,
            (epoch, loss_sum / seen, correct / seen, val_loss, val_acc, seconds),
            strict=True,
        ):
            history[key].append(value)
        if val_loader is not None and val_acc > best_acc:
            best_acc, best_epoch = val_acc, epoch
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        bar.set_postfix(val_acc=f"{val_acc:.3f}")
        if log:
            print(
                f"{desc + ': ' if desc else ''}epoch {epoch}/{epochs}  "
                f"train loss {loss_sum / seen:.3f} acc {correct / seen:.3f}  "
                f"val loss {val_loss:.3f} acc {val_acc:.3f}  {seconds:.1f} s"
            )
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
        if log and best_epoch != epochs:
            print(f"{desc + ': ' if desc else ''}restored the weights of epoch {best_epoch} "
                  f"(best val acc {best_acc:.3f})")
    return history
