#!/usr/bin/env python3
"""Independent PyTorch reference for unlearnd's networks (docs/NETWORKS.md).

The Swift tests and benchmarks run this file as a subprocess with the interpreter of `./dev torch`
($UNLEARND_TORCH_PYTHON: Debian's PyTorch plus safetensors in .build/torch-venv). It shares no code with the Swift
side: the forward pass is PyTorch's own layers, the derivatives are PyTorch's autograd.

Subcommands (each prints or writes float64 unless it says otherwise):

  derivatives   --architecture A.json --weights W.safetensors --inputs I.safetensors --out O.safetensors
      I: `x` [n, D] F64, `labels` [n] I64, `lambda` [1] F64, and `v.<tensor>` for every parameter tensor.
      O: `logits` [n, classes]; `loss` [1] = mean CE + lambda/2 ||theta||^2 (biases included); `grad.<tensor>`;
         `ggn_v.<tensor>` = (1/n) sum_i J_i^T H_i J_i v (no lambda); `sqgrad.<tensor>` = sum_i (grad of CE_i)^2.
  logits        --architecture A.json --weights W.safetensors --csv C.csv[.zst] [--mean-std]
      prints {"logits": [[...]], "predicted": [...]}.
  interop-model --csv TRAIN.csv[.zst] --out DIR --steps N --seed S [--batch-size B]
      trains a small ResNet-style CNN with BatchNorm in plain PyTorch; writes DIR/model.safetensors,
      DIR/architecture.json and DIR/logits.json (first 200 rows).
  train-speed   --architecture A.json --csv C.csv[.zst] --epochs E --batch-size B --threads T [--seed S]
      prints {"seconds_per_epoch": ..., "epochs": E, "final_train_accuracy": ...}.

Parameter tensors are named as in docs/NETWORKS.md: `<name>.weight` and `<name>.bias` of every `dense` and `conv2d`
(legacy MLP form: `layers.{l}.weight/bias`); `batchnorm2d` adds `<name>.weight`, `.bias`, `.running_mean`,
`.running_var`, which are constants here (eval mode), never parameters.
"""
import argparse
import csv
import io
import json
import math
import os
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

# ---------------------------------------------------------------------------------------------------------------
# Architecture JSON -> nn.Module


class Dense(nn.Linear):
    """docs/NETWORKS.md `dense`: the input of any shape is read flat in CHW order (nn.Flatten, then nn.Linear)."""

    def forward(self, x):
        return super().forward(torch.flatten(x, 1))


class Residual(nn.Module):
    """docs/NETWORKS.md `residual`: body(x) + shortcut(x); an empty shortcut is the identity."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut  # nn.Sequential() with no modules returns its input

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


LAYER_KEYS = {
    "dense": {"name", "units"},
    "conv2d": {"name", "out_channels", "kernel", "stride", "padding"},
    "relu": set(),
    "tanh": set(),
    "maxpool2d": {"kernel", "stride"},
    "avgpool2d": {"kernel", "stride"},
    "global_avgpool": set(),
    "flatten": set(),
    "residual": {"body", "shortcut"},
    "batchnorm2d": {"name", "eps"},
}


def legacy_to_layers(arch):
    """The legacy MLP form {"inputs": d, "layers": [{"units", "activation"}]}: dense layers `layers.{l}`."""
    layers = []
    for l, layer in enumerate(arch["layers"]):
        layers.append({"type": "dense", "name": f"layers.{l}", "units": int(layer["units"])})
        activation = layer.get("activation", "identity")
        if activation in ("relu", "tanh"):
            layers.append({"type": activation})
        elif activation != "identity":
            raise ValueError(f"legacy layer {l}: unknown activation {activation!r}")
    return [int(arch["inputs"])], layers


class Network(nn.Module):
    """A network of docs/NETWORKS.md. Input rows arrive flat [n, prod(input)] and are reshaped to [n, *input].

    `parametric` lists the (JSON name, module) of every dense and conv2d in parameter order (depth first, a
    residual's body before its shortcut); `tensor_names()` gives the parameter tensor names in that order.
    """

    def __init__(self, input_shape, layers):
        super().__init__()
        self.input_shape = list(input_shape)
        self.parametric = []  # (name, nn.Module) of dense/conv2d layers, in theta order
        self.batchnorms = []  # (name, nn.BatchNorm2d)
        if not layers or layers[-1].get("type") != "dense":
            raise ValueError("the last layer must be dense (docs/NETWORKS.md)")
        self.body, shape = self._sequence(layers, self.input_shape, "layers")
        self.classes = shape[0]
        # Module paths (for state_dict and functional_call) of every JSON tensor name.
        paths = {id(m): p for p, m in self.named_modules()}
        self.module_path = {}
        for name, module in self.parametric:
            for t in ("weight", "bias"):
                self.module_path[f"{name}.{t}"] = f"{paths[id(module)]}.{t}"
        for name, module in self.batchnorms:
            for t in ("weight", "bias", "running_mean", "running_var"):
                self.module_path[f"{name}.{t}"] = f"{paths[id(module)]}.{t}"
        names = [n for n, _ in self.parametric] + [n for n, _ in self.batchnorms]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        # Batch normalisation is import-only and folded with its running statistics (docs/NETWORKS.md): eval mode.
        self.eval()

    def _sequence(self, layers, shape, where):
        modules = []
        previous = None
        for i, layer in enumerate(layers):
            kind = layer.get("type")
            path = f"{where}[{i}] ({kind})"
            if kind not in LAYER_KEYS:
                raise ValueError(f"{path}: unknown layer type")
            unknown = set(layer) - LAYER_KEYS[kind] - {"type"}
            if unknown:
                raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
            if kind in ("conv2d", "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm2d") and len(shape) != 3:
                raise ValueError(f"{path}: needs a [C, H, W] input, got {shape}")
            if kind == "dense":
                module = Dense(math.prod(shape), int(layer["units"]))
                self.parametric.append((layer["name"], module))
                shape = [int(layer["units"])]
            elif kind == "conv2d":
                k, s, p = int(layer["kernel"]), int(layer.get("stride", 1)), int(layer.get("padding", 0))
                module = nn.Conv2d(shape[0], int(layer["out_channels"]), k, stride=s, padding=p, bias=True)
                self.parametric.append((layer["name"], module))
                shape = [int(layer["out_channels"]), (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1]
            elif kind == "batchnorm2d":
                if previous != "conv2d":
                    raise ValueError(f"{path}: a batchnorm2d must follow a conv2d directly (docs/NETWORKS.md)")
                module = nn.BatchNorm2d(shape[0], eps=float(layer.get("eps", 1e-5)))
                self.batchnorms.append((layer["name"], module))
            elif kind == "relu":
                module = nn.ReLU()
            elif kind == "tanh":
                module = nn.Tanh()
            elif kind in ("maxpool2d", "avgpool2d"):
                k = int(layer["kernel"])
                s = int(layer.get("stride", k))
                # No padding, ceil_mode=False: a window never reaches past the input.
                module = nn.MaxPool2d(k, stride=s) if kind == "maxpool2d" else nn.AvgPool2d(k, stride=s)
                shape = [shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1]
            elif kind == "global_avgpool":
                module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
                shape = [shape[0]]
            elif kind == "flatten":
                module = nn.Flatten()
                shape = [math.prod(shape)]
            elif kind == "residual":
                body, body_shape = self._sequence(layer["body"], shape, f"{path}.body")
                shortcut, short_shape = self._sequence(layer.get("shortcut", []), shape, f"{path}.shortcut")
                if body_shape != short_shape:
                    raise ValueError(f"{path}: body gives {body_shape}, shortcut gives {short_shape}")
                module = Residual(body, shortcut)
                shape = body_shape
            if any(d <= 0 for d in shape):
                raise ValueError(f"{path}: output shape {shape} is empty")
            modules.append(module)
            previous = kind
        return nn.Sequential(*modules), shape

    def forward(self, x):
        return self.body(x.reshape(x.shape[0], *self.input_shape))

    def tensor_names(self):
        """Parameter tensor names (dense and conv2d weight and bias) in theta order."""
        return [f"{name}.{t}" for name, _ in self.parametric for t in ("weight", "bias")]

    def parameter_tensors(self):
        """{JSON tensor name: nn.Parameter} of the parameters, in theta order."""
        return {f"{name}.{t}": getattr(m, t) for name, m in self.parametric for t in ("weight", "bias")}

    def load_tensors(self, tensors):
        """Loads a {JSON tensor name: tensor} dict (a safetensors file): dense and conv2d weight/bias, batchnorm2d
        weight/bias/running_mean/running_var. A conv2d without a bias gets a zero bias (PyTorch's bias=False,
        docs/NETWORKS.md). `*.num_batches_tracked` and `input.*` (standardisation) are ignored; any other name
        that is not a tensor of this network is an error, as is a wrong shape."""
        state = {}
        conv_names = {name for name, m in self.parametric if isinstance(m, nn.Conv2d)}
        for json_name, module_name in self.module_path.items():
            if json_name in tensors:
                state[module_name] = tensors[json_name]
            elif json_name.endswith(".bias") and json_name[: -len(".bias")] in conv_names:
                state[module_name] = torch.zeros(self.state_dict()[module_name].shape)
            else:
                raise KeyError(f"tensor {json_name} is missing")
        extra = [k for k in tensors if k not in self.module_path
                 and not k.endswith(".num_batches_tracked") and not k.startswith("input.")]
        if extra:
            raise KeyError(f"tensors that are not in the architecture: {sorted(extra)}")
        own = self.state_dict()
        for module_name, tensor in state.items():
            if tuple(tensor.shape) != tuple(own[module_name].shape):
                raise ValueError(f"{module_name}: shape {list(tensor.shape)}, expected {list(own[module_name].shape)}")
        # Keep num_batches_tracked as it is; everything else comes from the file (converted to this dtype).
        dtype = next(self.parameters()).dtype
        for module_name, tensor in state.items():
            own[module_name].copy_(tensor.to(dtype))


def build(arch, dtype=torch.float64):
    """nn.Module for an architecture JSON (dict) of docs/NETWORKS.md, or of the legacy MLP form. Float64 by
    default (a reference); eval mode. Load weights with `.load_tensors(dict)`."""
    if "inputs" in arch:
        input_shape, layers = legacy_to_layers(arch)
    else:
        input_shape, layers = arch["input"], arch["layers"]
    if len(input_shape) not in (1, 3):
        raise ValueError(f"input must be [D] or [C, H, W], got {input_shape}")
    return Network(input_shape, layers).to(dtype)


def load_network(architecture_path, weights_path, dtype=torch.float64):
    with open(architecture_path, encoding="utf-8") as f:
        arch = json.load(f)
    tensors = load_file(weights_path)
    net = build(arch, dtype)
    net.load_tensors(tensors)
    return net, tensors, arch


# ---------------------------------------------------------------------------------------------------------------
# Derivatives


def derivatives(net, x, labels, lam, v):
    """Loss, gradient, GGN-vector product and per-row squared gradients of
    F(theta) = (1/n) sum_i CE(logits_i, y_i) + (lam/2) ||theta||^2, all with autograd in float64.
    `v` maps every parameter tensor name to a direction of the same shape. Returns a dict of output tensors."""
    names = net.tensor_names()
    params = net.parameter_tensors()
    plist = [params[k] for k in names]
    for p in plist:
        p.requires_grad_(True)
    n = x.shape[0]
    out = {}

    # Loss and gradient.
    logits = net(x)
    ce = F.cross_entropy(logits, labels, reduction="mean")
    l2 = sum((p * p).sum() for p in plist)
    loss = ce + 0.5 * lam * l2
    grads = torch.autograd.grad(loss, plist)
    out["logits"] = logits.detach()
    out["loss"] = loss.detach().reshape(1)
    for k, g in zip(names, grads):
        out[f"grad.{k}"] = g

    # Generalised Gauss-Newton product G v = (1/n) sum_i J_i^T H_i J_i v (Schraudolph 2002, "Fast curvature
    # matrix-vector products"; Martens 2010), H_i = diag(p_i) - p_i p_i^T the Hessian of CE in the logits.
    # J v by the double-backward trick: with a dummy u [n, C], g(u) = J^T u is linear in u, so
    # d<g(u), v>/du = J v (the same trick torch.autograd.functional.jvp uses). J^T w by one ordinary backward.
    logits = net(x)
    u = torch.zeros_like(logits, requires_grad=True)
    jt_u = torch.autograd.grad(logits, plist, grad_outputs=u, create_graph=True)
    jv = torch.autograd.grad(jt_u, u, grad_outputs=[v[k] for k in names])[0]  # [n, C]
    p = torch.softmax(logits.detach(), dim=1)
    h_jv = p * jv - p * (p * jv).sum(dim=1, keepdim=True)  # H_i (J v)_i for every row
    ggn = torch.autograd.grad(logits, plist, grad_outputs=h_jv / n)
    for k, g in zip(names, ggn):
        out[f"ggn_v.{k}"] = g

    # Sum over rows of the squared per-row CE gradient (no L2): one forward and backward per row, nothing shared.
    sq = {k: torch.zeros_like(params[k]) for k in names}
    for i in range(n):
        ce_i = F.cross_entropy(net(x[i:i + 1]), labels[i:i + 1], reduction="sum")
        for k, g in zip(names, torch.autograd.grad(ce_i, plist)):
            sq[k] += g * g
    for k in names:
        out[f"sqgrad.{k}"] = sq[k]
    return {k: t.detach().to(torch.float64).contiguous().clone() for k, t in out.items()}


def cmd_derivatives(args):
    net, _, arch = load_network(args.architecture, args.weights)
    if net.batchnorms:
        sys.exit("derivatives: the architecture has batchnorm2d layers; unlearnd folds them into the convolutions "
                 "at import (docs/NETWORKS.md), so pass the folded (exported) architecture")
    inputs = load_file(args.inputs)
    x = inputs["x"].to(torch.float64)
    labels = inputs["labels"].to(torch.int64)
    lam = float(inputs["lambda"].reshape(-1)[0])
    names = net.tensor_names()
    v = {}
    for k in names:
        if f"v.{k}" not in inputs:
            sys.exit(f"derivatives: {args.inputs} has no direction tensor v.{k}")
        v[k] = inputs[f"v.{k}"].to(torch.float64)
    extra = [k for k in inputs if k.startswith("v.") and k[2:] not in names]
    if extra:
        sys.exit(f"derivatives: direction tensors for unknown parameters: {extra}")
    if x.dim() != 2 or x.shape[1] != math.prod(net.input_shape):
        sys.exit(f"derivatives: x is {list(x.shape)}, the input has {math.prod(net.input_shape)} values per row")
    save_file(derivatives(net, x, labels, lam, v), args.out)


# ---------------------------------------------------------------------------------------------------------------
# CSV rows


def read_csv(path):
    """(ids, labels [n] int64, features [n, d] float64) of a CSV with header sample_id,subject,label,x0,...;
    .zst files are decompressed with the zstd command (as Deploy/python/predict.py does), fed on stdin because
    zstd skips a file argument that is a symbolic link."""
    if path.endswith(".zst"):
        with open(path, "rb") as f:
            text = subprocess.run(["zstd", "-dc"], stdin=f, check=True, capture_output=True).stdout.decode()
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    first, label = header.index("x0"), header.index("label")
    ids, labels, rows = [], [], []
    for row in reader:
        if not row:
            continue
        ids.append(row[0])
        labels.append(int(row[label]))
        rows.append([float(value) for value in row[first:]])
    return ids, torch.tensor(labels, dtype=torch.int64), torch.tensor(rows, dtype=torch.float64)


def fit_standardization(x):
    """Per-feature mean and population std of the rows; constant features get std 1 (so they map to 0), as
    unlearnd's Standardization does."""
    mean = x.mean(dim=0)
    std = ((x - mean) ** 2).mean(dim=0).sqrt()
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return mean, std


def logits_json(logits):
    return {"logits": logits.tolist(), "predicted": logits.argmax(dim=1).tolist()}


def cmd_logits(args):
    net, tensors, _ = load_network(args.architecture, args.weights)
    _, _, x = read_csv(args.csv)
    if args.mean_std:
        # The stored std is used as is, like Deploy/python/predict.py: the writer stores 1 for constant features.
        x = (x - tensors["input.mean"].to(torch.float64)) / tensors["input.std"].to(torch.float64)
    with torch.no_grad():
        json.dump(logits_json(net(x)), sys.stdout)
    print()


# ---------------------------------------------------------------------------------------------------------------
# interop-model: a network written the way PyTorch users write one, then exported with state_dict()


class BasicBlock(nn.Module):
    """ResNet basic block (He et al. 2016) with a 1x1 conv + BatchNorm projection shortcut."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1),  # with a bias, before BatchNorm: the fold keeps it
            nn.BatchNorm2d(8),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
        )
        self.block = BasicBlock(8, 16, stride=2)  # 14 -> 7
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        x = self.block(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))


def small_resnet_architecture(classes):
    """SmallResNet in the architecture JSON of docs/NETWORKS.md, with its state_dict names."""
    return {
        "input": [1, 28, 28],
        "layers": [
            {"type": "conv2d", "name": "stem.0", "out_channels": 8, "kernel": 3, "stride": 1, "padding": 1},
            {"type": "batchnorm2d", "name": "stem.1", "eps": 1e-5},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel": 2, "stride": 2},
            {
                "type": "residual",
                "body": [
                    {"type": "conv2d", "name": "block.conv1", "out_channels": 16, "kernel": 3, "stride": 2,
                     "padding": 1},
                    {"type": "batchnorm2d", "name": "block.bn1", "eps": 1e-5},
                    {"type": "relu"},
                    {"type": "conv2d", "name": "block.conv2", "out_channels": 16, "kernel": 3, "stride": 1,
                     "padding": 1},
                    {"type": "batchnorm2d", "name": "block.bn2", "eps": 1e-5},
                ],
                "shortcut": [
                    {"type": "conv2d", "name": "block.shortcut.0", "out_channels": 16, "kernel": 1, "stride": 2},
                    {"type": "batchnorm2d", "name": "block.shortcut.1", "eps": 1e-5},
                ],
            },
            {"type": "relu"},
            {"type": "global_avgpool"},
            {"type": "dense", "name": "fc", "units": classes},
        ],
        "lambda": 0.0001,
    }


def cmd_interop_model(args):
    _, labels, x = read_csv(args.csv)
    if x.shape[1] != 28 * 28:
        sys.exit(f"interop-model: the rows have {x.shape[1]} features; the model is for 1x28x28 images")
    mean, std = fit_standardization(x)
    xs = ((x - mean) / std).to(torch.float32).reshape(-1, 1, 28, 28)
    classes = int(labels.max()) + 1

    torch.manual_seed(args.seed)
    model = SmallResNet(classes)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(args.seed)
    model.train()  # BatchNorm uses batch statistics and updates its running ones
    for _ in range(args.steps):
        batch = torch.randint(0, xs.shape[0], (args.batch_size,), generator=generator)
        loss = F.cross_entropy(model(xs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()

    os.makedirs(args.out, exist_ok=True)
    # What a PyTorch user saves (float32, with num_batches_tracked), plus the standardisation as F64.
    tensors = {k: t.detach().contiguous() for k, t in model.state_dict().items()}
    tensors["input.mean"] = mean.contiguous()
    tensors["input.std"] = std.contiguous()
    save_file(tensors, os.path.join(args.out, "model.safetensors"))
    with open(os.path.join(args.out, "architecture.json"), "w", encoding="utf-8") as f:
        json.dump(small_resnet_architecture(classes), f, indent=2)
        f.write("\n")
    # Logits of the saved float32 weights evaluated in float64 (what an F64 importer computes from them).
    model.double()
    with torch.no_grad():
        logits = model(((x[:200] - mean) / std).reshape(-1, 1, 28, 28))
    with open(os.path.join(args.out, "logits.json"), "w", encoding="utf-8") as f:
        json.dump(logits_json(logits), f)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------------------
# train-speed: PyTorch's training time per epoch, as a PyTorch user would train (float32, Adam)


def cmd_train_speed(args):
    torch.set_num_threads(args.threads)
    with open(args.architecture, encoding="utf-8") as f:
        arch = json.load(f)
    _, labels, x = read_csv(args.csv)
    mean, std = fit_standardization(x)
    xs = ((x - mean) / std).to(torch.float32)
    lam = args.lam if args.lam is not None else float(arch.get("lambda", 0.0))

    torch.manual_seed(args.seed)
    net = build(arch, torch.float32)  # PyTorch's default initialisation of every layer
    params = list(net.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3)
    generator = torch.Generator().manual_seed(args.seed)
    n = xs.shape[0]

    net.train()
    start = time.perf_counter()
    for _ in range(args.epochs):
        order = torch.randperm(n, generator=generator)
        for b in range(0, n, args.batch_size):
            batch = order[b:b + args.batch_size]
            loss = F.cross_entropy(net(xs[batch]), labels[batch])
            if lam:
                loss = loss + 0.5 * lam * sum((p * p).sum() for p in params)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start

    net.eval()
    with torch.no_grad():
        accuracy = float((net(xs).argmax(dim=1) == labels).double().mean())
    json.dump({"seconds_per_epoch": seconds / max(args.epochs, 1), "epochs": args.epochs,
               "final_train_accuracy": accuracy}, sys.stdout)
    print()


# ---------------------------------------------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("derivatives", help="logits, loss, gradient, GGN-vector product, squared per-row gradients")
    p.add_argument("--architecture", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(run=cmd_derivatives)

    p = sub.add_parser("logits", help="logits and predicted classes of a CSV's rows as JSON")
    p.add_argument("--architecture", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--mean-std", action="store_true", help="standardise with input.mean / input.std of the weights")
    p.set_defaults(run=cmd_logits)

    p = sub.add_parser("interop-model", help="train and export a small PyTorch CNN with BatchNorm and a residual block")
    p.add_argument("--csv", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(run=cmd_interop_model)

    p = sub.add_parser("train-speed", help="seconds per epoch of PyTorch training of an architecture")
    p.add_argument("--architecture", required=True)
    p.add_argument("--csv", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch-size", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lambda", dest="lam", type=float, default=None,
                   help="L2 coefficient in the loss (default: the architecture's \"lambda\", else 0)")
    p.set_defaults(run=cmd_train_speed)

    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
