"""Checks of the interview drills (lesson 08), and the reference implementations they compare with.

Each check is a factory: it returns ``test(answer)``, which is ``None`` when the answer is right,
else a message that explains the mistake; pass it as the ``test`` of :func:`tlcourse.checks.exercise`
(or ``Drill.submit``). The
find-the-bug drills run the learner's fixed function on tiny CPU models (well under a second);
the from-scratch drills compare with :func:`reference_grad_reverse`, :func:`reference_coral_loss`
and :func:`reference_lora_class`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import Test


def parameter_count(model: Any) -> Test:
    """Lesson 00: how many numbers ``model`` learns, ``sum(p.numel() for p in model.parameters())``."""
    want = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    def test(answer: Any) -> str | None:
        if isinstance(answer, bool) or not isinstance(answer, int):
            return f"answer with a whole number of parameters, not {type(answer).__name__}."
        if answer == want:
            return None
        if answer == trainable:
            return f"{answer:,} counts only the trainable parameters: the total counts every one."
        return f"{answer:,} is not the total."

    return test


def replaced_head(n_classes: int, reference: Mapping[str, Any]) -> Test:
    """Drill 1: a torchvision classifier whose last layer predicts ``n_classes``, all else frozen.

    ``reference``: the pretrained model's ``state_dict()`` before the change; the backbone's
    tensors must be unchanged and frozen, the new last ``nn.Linear`` trainable.
    """

    def test(model: Any) -> str | None:
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
                    f"{n_classes} classes.")
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

    return test


def keras_two_stage(base: Any, n_top: int, lr_stage1: float) -> Test:
    """Drill 3: the Keras model after stage 2, with the top ``n_top`` convolution layers trainable.

    Expected: the last ``n_top`` layers of ``base`` that have weights and are not
    BatchNormalization are trainable; every BatchNormalization layer stays frozen (inference
    mode), every other base layer too; the model was compiled again with a learning rate at
    least 10x below ``lr_stage1``.
    """

    def test(model: Any) -> str | None:
        import keras

        if not isinstance(model, keras.Model):
            return f"give the Keras model, not a {type(model).__name__}."
        weighted = [layer for layer in base.layers if layer.weights]
        convs = [layer for layer in weighted if not isinstance(layer, keras.layers.BatchNormalization)]
        top = {id(layer) for layer in convs[-n_top:]}
        for layer in weighted:
            is_bn = isinstance(layer, keras.layers.BatchNormalization)
            if is_bn and layer.trainable:
                return (f"BatchNormalization layer {layer.name} is trainable: in Keras 3 fit() would then "
                        "replace its moving statistics; set trainable = False on every BN layer.")
            if not is_bn and (id(layer) in top) != layer.trainable:
                want = "trainable" if id(layer) in top else "frozen"
                return f"layer {layer.name} should be {want} (the top {n_top} convolution layers of the base train)."
        if model.optimizer is None or not model.compiled:
            return "compile the model again after changing trainable: Keras applies it at compile()."
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        if lr > lr_stage1 / 10 * (1 + 1e-6):
            return (f"stage 2 compiled with learning rate {lr:g}; use at least 10x less than stage 1's "
                    f"{lr_stage1:g} so the pretrained weights move only a little.")
        return None

    return test


def llrd_groups(blocks: Sequence[Any], head: Any, lr_head: float, lr_top: float, decay: float,
                weight_decay: float) -> Test:
    """Drill 2: layer-wise learning-rate decay with the usual weight-decay exemption.

    Expected: the head's parameters at ``lr_head``; block ``i`` of ``blocks`` at
    ``lr_top * decay ** (len(blocks) - 1 - i)``; weight decay ``weight_decay`` on weight
    matrices and kernels, 0 on biases and normalisation parameters (every 1-d tensor); each
    parameter in exactly one group, every group with keys ``params``, ``lr`` and ``weight_decay``.
    """

    def test(groups: Any) -> str | None:
        if not isinstance(groups, list | tuple) or not all(isinstance(g, dict) for g in groups):
            return "give a list of dicts, each {'params': [...], 'lr': ..., 'weight_decay': ...}."
        seen: dict[int, tuple[float, float]] = {}
        for n, g in enumerate(groups):
            missing = [k for k in ("params", "lr", "weight_decay") if k not in g]
            if missing:
                return f"group {n} lacks the key(s) {', '.join(missing)}."
            for p in list(g["params"]):
                if id(p) in seen:
                    return f"group {n} repeats a parameter already in an earlier group (torch refuses that)."
                seen[id(p)] = (float(g["lr"]), float(g["weight_decay"]))
        named = [("head", p, lr_head) for p in head.parameters()]
        last = len(blocks) - 1
        for i, block in enumerate(blocks):
            named += [(f"block {i}", p, lr_top * decay ** (last - i)) for p in block.parameters()]
        for where, p, lr in named:
            if id(p) not in seen:
                return f"a parameter of {where} is in no group: every parameter must be in exactly one."
            got_lr, got_wd = seen[id(p)]
            if abs(got_lr - lr) > 1e-9 * max(lr, 1e-12) + 1e-15:
                return (f"a parameter of {where} has lr {got_lr:.3g}; expected {lr:.3g} "
                        f"(lr_top * {decay} ** depth, depth counted from the top block).")
            want_wd = 0.0 if p.ndim <= 1 else weight_decay
            if got_wd != want_wd:
                kind = "a bias or normalisation parameter (1-d)" if p.ndim <= 1 else "a weight matrix / kernel"
                return f"{kind} of {where} has weight_decay {got_wd:g}; expected {want_wd:g}."
        extra = len(seen) - len(named)
        if extra:
            return f"{extra} parameter(s) in the groups belong to neither the head nor the blocks."
        return None

    return test


def report_choice(table: Mapping[str, Mapping[str, float]]) -> Test:
    """Decision exercise: ``answer = (config, number)`` chosen on validation, reported on test.

    ``table`` maps a configuration to ``{"val": ..., "test": ...}``; the check is
    :func:`tlcourse.checks.chosen_on_validation`.
    """
    from . import chosen_on_validation

    return chosen_on_validation({name: (row["val"], row["test"]) for name, row in table.items()}, "configuration")


# ---------------------------------------------------------------------------------------------
# Find-the-bug drills: each runs the learner's fixed function on a tiny model.


def _tiny_backbone() -> Any:
    """A conv + BatchNorm feature extractor with non-trivial running statistics, 4 features out."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        net[1].running_mean.uniform_(-1, 1)
        net[1].running_var.uniform_(0.5, 2)
    return net


def _batch(n: int = 16, classes: int = 3) -> tuple[Any, Any]:
    import torch

    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 3, 8, 8, generator=g) * 3 + 1, torch.randint(classes, (n,), generator=g)


def bug_batchnorm() -> Test:
    """Find the bug 1: ``fit_head(backbone, head, x, y, steps)`` must train the head only.

    The frozen backbone's BatchNorm running statistics must stay as they were (the seeded bug
    calls ``model.train()`` and lets every forward pass overwrite them); the head must change.
    """

    def test(fit_head: Callable[..., Any]) -> str | None:
        import torch
        from torch import nn

        if not callable(fit_head):
            return f"give the fixed function fit_head, not a {type(fit_head).__name__}."
        backbone, head = _tiny_backbone(), nn.Linear(4, 3)
        before = {k: v.clone() for k, v in backbone.state_dict().items()}
        head_before = head.weight.detach().clone()
        x, y = _batch()
        fit_head(backbone, head, x, y, 3)
        for key, value in backbone.state_dict().items():
            if not torch.equal(value, before[key]):
                what = "running statistics" if "running" in key else "weights"
                return (f"the backbone's {key} changed: its BatchNorm {what} moved during training. After "
                        "model.train(), put the frozen backbone back in eval() (BatchNorm buffers are not "
                        "parameters, requires_grad does not protect them).")
        if torch.equal(head.weight, head_before):
            return "the head did not change: the fix must still train the head."
        return None

    return test


def bug_optimizer() -> Test:
    """Find the bug 2: ``build(model, n_classes) -> (model, optimizer)`` with a new trainable head.

    The seeded bug builds the optimizer before freezing and replacing the head, so the new head's
    parameters are not in it (it never trains) and the frozen ones are.
    """

    def test(build: Callable[..., Any]) -> str | None:
        import torch
        from torch import nn

        if not callable(build):
            return f"give the fixed function build, not a {type(build).__name__}."
        torch.manual_seed(0)
        model = nn.Sequential()
        model.add_module("features", _tiny_backbone())
        model.add_module("fc", nn.Linear(4, 10))
        out = build(model, 3)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], torch.optim.Optimizer)):
            return "build must return (model, optimizer)."
        model, opt = out
        if not isinstance(getattr(model, "fc", None), nn.Linear) or model.fc.out_features != 3:
            return "the model's fc should be a new nn.Linear with n_classes (3) outputs."
        in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
        trainable = {id(p) for p in model.parameters() if p.requires_grad}
        if any(id(p) not in in_opt for p in model.fc.parameters()):
            return ("the new head's parameters are not in the optimizer, so it never trains: build the "
                    "optimizer after freezing and replacing the head, from the trainable parameters.")
        if trainable != {id(p) for p in model.fc.parameters()}:
            return "only the new head should be trainable: freeze the backbone (requires_grad_(False))."
        if in_opt - trainable:
            return ("the optimizer also holds frozen parameters: pass only the trainable ones "
                    "(e.g. model.fc.parameters()), so a later unfreeze cannot move them by surprise.")
        return None

    return test


def bug_selection() -> Test:
    """Find the bug 3: ``pick(history) -> (epoch, reported)`` chooses on validation, reports test.

    ``history`` is a list of ``{"val": ..., "test": ...}`` per epoch; the seeded bug takes the
    epoch with the best test accuracy.
    """

    def test(pick: Callable[..., Any]) -> str | None:
        if not callable(pick):
            return f"give the fixed function pick, not a {type(pick).__name__}."
        history = [{"val": 0.70, "test": 0.69}, {"val": 0.78, "test": 0.74},
                   {"val": 0.76, "test": 0.77}, {"val": 0.75, "test": 0.72}]
        got = pick(history)
        if not (isinstance(got, tuple) and len(got) == 2):
            return "pick must return a tuple (epoch index, reported accuracy)."
        epoch, reported = got
        if epoch == 2:
            return ("epoch 2 has the best *test* accuracy: choosing by test makes the test split a "
                    "validation split and the report optimistic. Choose by validation.")
        if epoch != 1:
            return f"epoch {epoch} is not the best on validation (that is epoch 1, val 0.78)."
        if abs(float(reported) - 0.74) > 1e-9:
            return f"report the chosen epoch's test accuracy (0.74), not {reported}."
        return None

    return test


@dataclass(frozen=True)
class ToyCheckpoint:
    """A tiny "checkpoint": a whitespace tokenizer's vocabulary and the model trained with it."""

    name: str
    vocab: dict[str, int]
    model: Any  # nn.Module: ids [n] -> logits [1, 2]

    def tokenize(self, text: str) -> Any:
        """Token ids of ``text`` in this checkpoint's vocabulary (unknown words -> id 0)."""
        import torch

        return torch.tensor([self.vocab.get(w, 0) for w in text.lower().split()], dtype=torch.long)


def toy_checkpoints() -> dict[str, ToyCheckpoint]:
    """Two checkpoints with the same words under different ids, as two real tokenizers would have."""
    import torch
    from torch import nn

    words = ["[unk]", "good", "bad", "great", "awful", "movie", "plot", "not", "fine", "boring"]
    out = {}
    for seed, name in enumerate(("sentiment-small", "general-base")):
        g = torch.Generator().manual_seed(seed + 10)
        perm = [0, *(1 + torch.randperm(len(words) - 1, generator=g)).tolist()]
        vocab = {w: perm[i] for i, w in enumerate(words)}
        torch.manual_seed(seed)
        model = nn.Sequential(nn.EmbeddingBag(len(words), 6, mode="mean"), nn.Linear(6, 2)).eval()
        out[name] = ToyCheckpoint(name, vocab, model)
    return out


def bug_tokenizer() -> Test:
    """Find the bug 4: ``classify(texts, name, checkpoints) -> logits [n, 2]`` for checkpoint ``name``.

    The ids only mean something in the vocabulary the model was trained with: the fix must take
    the tokenizer from the same checkpoint as the model (the seeded bug hard-codes another one).
    """

    def test(classify: Callable[..., Any]) -> str | None:
        import torch

        if not callable(classify):
            return f"give the fixed function classify, not a {type(classify).__name__}."
        cps = toy_checkpoints()
        texts = ["good movie", "awful boring plot", "not bad", "great fine movie"]
        for name, cp in cps.items():
            with torch.no_grad():
                want = torch.cat([cp.model[1](cp.model[0](cp.tokenize(t)[None])) for t in texts])
                got = classify(texts, name, cps)
            if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape):
                return f"classify must return a tensor of logits of shape {tuple(want.shape)}."
            if not torch.allclose(got, want, atol=1e-6):
                return (f"for checkpoint {name!r} the logits differ from that model's own tokenizer + model: "
                        "take the tokenizer from the same checkpoint as the model (checkpoints[name]).")
        return None

    return test


# ---------------------------------------------------------------------------------------------
# From-scratch drills and the course's reference implementations.


def reference_grad_reverse(x: Any, lambd: float) -> Any:
    """Lesson 07's gradient reversal: the identity forward, ``-lambd * grad`` backward."""
    import torch

    class _Reverse(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, lambd: float) -> Any:  # noqa: D102
            ctx.lambd = lambd
            return x.view_as(x)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple[Any, None]:  # noqa: D102
            return -ctx.lambd * grad, None

    return _Reverse.apply(x, lambd)


def reference_coral_loss(fs: Any, ft: Any) -> Any:
    """Lesson 07's Deep CORAL loss: ``||C_S - C_T||_F^2 / (4 d^2)``, unbiased covariances."""
    d = fs.shape[1]

    def cov(x: Any) -> Any:
        xc = x - x.mean(dim=0, keepdim=True)
        return xc.T @ xc / (x.shape[0] - 1)

    return ((cov(fs) - cov(ft)) ** 2).sum() / (4 * d * d)


def reference_lora_class() -> type:
    """The course's LoRA layer class (built on call, so importing this module needs no torch)."""
    from torch import nn

    class ReferenceLoRALinear(nn.Module):
        """LoRA (Hu et al. 2021) around a frozen ``nn.Linear``: ``base(x) + (alpha / r) * x A^T B^T``.

        ``A`` [r, in] starts small and random, ``B`` [out, r] at zero, so the wrapped layer starts
        as the pretrained one; only ``A`` and ``B`` train.
        """

        def __init__(self, base: nn.Linear, r: int, alpha: float) -> None:
            import torch

            super().__init__()
            self.base = base.requires_grad_(False)
            self.A = nn.Parameter(torch.randn(r, base.in_features) / r)
            self.B = nn.Parameter(torch.zeros(base.out_features, r))
            self.scale = alpha / r

        def forward(self, x: Any) -> Any:  # noqa: D102
            return self.base(x) + self.scale * (x @ self.A.T @ self.B.T)

    return ReferenceLoRALinear


def grad_reverse() -> Test:
    """From scratch 1: ``fn(x, lambd)`` behaves like :func:`reference_grad_reverse`."""

    def test(fn: Callable[..., Any]) -> str | None:
        import torch

        if not callable(fn):
            return f"give the function grad_reverse(x, lambd), not a {type(fn).__name__}."
        g = torch.Generator().manual_seed(0)
        x = torch.randn(5, 4, generator=g, requires_grad=True)
        w = torch.randn(5, 4, generator=g)
        y = fn(x, 0.3)
        if not isinstance(y, torch.Tensor) or not torch.equal(y.detach(), x.detach()):
            return "the forward pass must return the input unchanged (the identity)."
        (y * w).sum().backward()
        x_ref = x.detach().clone().requires_grad_(True)
        (reference_grad_reverse(x_ref, 0.3) * w).sum().backward()
        if x.grad is None or not torch.allclose(x.grad, x_ref.grad):
            got = "no gradient" if x.grad is None else f"gradient {x.grad[0, 0].item():.3f}"
            return (f"backward must multiply the incoming gradient by -lambda: expected "
                    f"{x_ref.grad[0, 0].item():.3f} for the first element, got {got}.")
        return None

    return test


def coral_loss() -> Test:
    """From scratch 2: ``fn(fs, ft)`` equals :func:`reference_coral_loss` on several inputs."""

    def test(fn: Callable[..., Any]) -> str | None:
        import torch

        if not callable(fn):
            return f"give the function coral_loss(fs, ft), not a {type(fn).__name__}."
        g = torch.Generator().manual_seed(0)
        for n_s, n_t, d in ((40, 30, 3), (25, 60, 7)):
            fs, ft = torch.randn(n_s, d, generator=g), torch.randn(n_t, d, generator=g) * 2 + 1
            got, want = fn(fs, ft), reference_coral_loss(fs, ft)
            if not isinstance(got, torch.Tensor) or got.dim() != 0:
                return "return a scalar tensor (so it can be added to the classification loss)."
            if not torch.allclose(got, want, rtol=1e-4):
                return (f"for n_s={n_s}, n_t={n_t}, d={d} the loss is {got.item():.5f}, the formula gives "
                        f"{want.item():.5f}: centre each domain, divide by n - 1, and by 4 d^2.")
        if fn(fs, fs + 5.0).abs().item() > 1e-6:
            return "a shifted copy has the same covariance: the loss must be 0 (subtract the means)."
        return None

    return test


def lora_layer() -> Test:
    """From scratch 3: ``cls(base, r, alpha)`` behaves like :func:`reference_lora_class`.

    Checks: the base layer is frozen, only ``A`` [r, in] and ``B`` [out, r] train, the new layer
    starts equal to the base, and with given A and B it computes ``base(x) + alpha/r * x A^T B^T``.
    """

    def test(cls: Any) -> str | None:
        import torch
        from torch import nn

        if not isinstance(cls, type):
            return f"give the class (e.g. LoRALinear), not a {type(cls).__name__}."
        torch.manual_seed(0)
        base = nn.Linear(6, 5)
        layer = cls(base, 2, 4.0)
        A, B = getattr(layer, "A", None), getattr(layer, "B", None)
        if not (isinstance(A, nn.Parameter) and isinstance(B, nn.Parameter)):
            return "the layer needs nn.Parameter attributes A (shape [r, in]) and B (shape [out, r])."
        if tuple(A.shape) != (2, 6) or tuple(B.shape) != (5, 2):
            return f"A should be [r, in] = (2, 6) and B [out, r] = (5, 2); got {tuple(A.shape)} and {tuple(B.shape)}."
        trainable = {id(p) for p in layer.parameters() if p.requires_grad}
        if trainable != {id(A), id(B)}:
            return "only A and B may train: freeze the base layer (base.requires_grad_(False))."
        x = torch.randn(3, 6)
        with torch.no_grad():
            if not torch.allclose(layer(x), base(x), atol=1e-6):
                return "at initialisation the layer must equal the pretrained one: start B at zero."
            A.copy_(torch.randn(2, 6))
            B.copy_(torch.randn(5, 2))
            ref = reference_lora_class()(base, 2, 4.0)
            ref.A.copy_(A)
            ref.B.copy_(B)
            if not torch.allclose(layer(x), ref(x), atol=1e-5):
                return "with the same A and B the output differs from base(x) + (alpha / r) * x A^T B^T."
        return None

    return test
