#!/usr/bin/env python3
"""Reproduce unlearnd's predictions from an exported snapshot with NumPy only.

Export the weights first:
    unlearnctl export --safetensors /var/lib/unlearnd/models/<model> --out model.safetensors

Then:
    python3 predict.py model.safetensors rows.csv            # prints sample_id,predicted_label
    python3 predict.py model.safetensors rows.csv.zst --json # logits and labels as JSON

rows.csv has the training-set layout: sample_id,subject,label,x0,...,x{d-1} (raw, unstandardised features; image
rows flat in PyTorch's CHW order, index c*H*W + h*W + w); .zst files are decompressed with the `zstd` command.
Requires: pip install safetensors numpy (no PyTorch, no SciPy).

The export is float64 throughout. It holds `input.mean` / `input.std` [d] when the model standardises its inputs,
and the architecture JSON in the metadata entry `unlearnd.architecture`, in one of two forms (docs/NETWORKS.md):

- Legacy MLP: {"inputs": d, "layers": [{"units": u, "activation": "relu" | "tanh" | "identity"}, ...]} with
  tensors `layers.{l}.weight` [out, in] and `layers.{l}.bias` [out] (torch.nn.Linear naming). Forward pass:
  x -> (x - mean) / std -> for each layer: act(x @ W.T + b).
- Layers: {"input": [C, H, W] or [D], "layers": [{"type": ...}, ...]} with, per `dense` and `conv2d` layer,
  `<name>.weight` ([units, in] for dense, [out, in, k, k] for conv2d) and `<name>.bias` [out]. Rows are
  standardised, then reshaped to [n, C, H, W], and go through the layers as PyTorch's would:
    conv2d          `out_channels`, square `kernel`, `stride` (default 1), zero `padding` (default 0)  (nn.Conv2d)
    relu, tanh      element-wise
    maxpool2d,      `kernel`, `stride` (default: kernel), no padding, output size floor((H - k) / s) + 1
    avgpool2d       (nn.MaxPool2d / nn.AvgPool2d with ceil_mode=False)
    global_avgpool  mean over positions, [C, H, W] -> [C]  (nn.AdaptiveAvgPool2d(1), then flatten)
    flatten         [C, H, W] -> [C*H*W] in CHW order
    dense           `units`; reads its input flattened in CHW order  (nn.Flatten, then nn.Linear)
    residual        `body` and `shortcut` (lists of layers; an empty shortcut is the identity):
                    body(x) + shortcut(x)
  Batch normalisation never appears in an export: unlearnd folds it into the convolutions at import.

The predicted label is the argmax of the last layer's outputs (softmax does not change the argmax).
"""
import argparse
import csv
import io
import json
import math
import subprocess
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "tanh": np.tanh,
    "identity": lambda z: z,
}

# The im2col buffer of a convolution holds at most this many bytes; larger batches go through in chunks of rows.
IM2COL_BYTES = 2 << 20


def load_model(path):
    tensors = load_file(path)
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
    architecture = json.loads(metadata["unlearnd.architecture"])
    return tensors, architecture, metadata


def is_layer_form(architecture):
    """True for the layer form ({"input": ..., "layers": [{"type": ...}]}), False for the legacy MLP form."""
    return "input" in architecture


def input_size(architecture):
    """Features per row the model expects."""
    if is_layer_form(architecture):
        return math.prod(int(d) for d in architecture["input"])
    return int(architecture["inputs"])


def logits(tensors, architecture, x):
    """Class scores for the rows of x (n x d, raw features)."""
    a = np.asarray(x, dtype=np.float64)
    if "input.mean" in tensors:
        a = (a - tensors["input.mean"]) / tensors["input.std"]
    if is_layer_form(architecture):
        return layer_logits(tensors, architecture, a)
    for l, layer in enumerate(architecture["layers"]):
        z = a @ tensors[f"layers.{l}.weight"].T + tensors[f"layers.{l}.bias"]
        a = ACTIVATIONS[layer["activation"]](z)
    return a


# ---------------------------------------------------------------------------------------------------------------
# Layer form. Image activations are kept as [n, H, W, C] (channels last, so a convolution is one matrix product
# over contiguous patch rows); they are put back in CHW order wherever the layout shows: flatten and dense.


def layer_logits(tensors, architecture, a):
    shape = [int(d) for d in architecture["input"]]
    if len(shape) not in (1, 3):
        raise ValueError(f"input must be [D] or [C, H, W], got {shape}")
    n = a.shape[0]
    if a.ndim != 2 or a.shape[1] != math.prod(shape):
        raise ValueError(f"the rows have {a.shape[1:]} features; the model expects {math.prod(shape)}")
    if len(shape) == 3:
        a = a.reshape(n, *shape).transpose(0, 2, 3, 1)  # [n, C, H, W] -> [n, H, W, C]
    a = run_layers(tensors, architecture["layers"], a, "layers")
    if a.ndim != 2:
        raise ValueError("the last layer must be dense")
    return np.ascontiguousarray(a)


def run_layers(tensors, layers, a, where):
    for i, layer in enumerate(layers):
        a = run_layer(tensors, layer, a, f"{where}[{i}]")
    return a


def tensor(tensors, name, shape, path):
    if name not in tensors:
        raise KeyError(f"{path}: the file has no tensor {name}")
    t = np.asarray(tensors[name], dtype=np.float64)
    if tuple(t.shape) != tuple(shape):
        raise ValueError(f"{path}: {name} has shape {list(t.shape)}, expected {list(shape)}")
    return t


def chw_flat(a):
    """Rows flattened in CHW order ([n, H, W, C] -> [n, C*H*W]; vectors unchanged)."""
    if a.ndim == 4:
        return a.transpose(0, 3, 1, 2).reshape(a.shape[0], -1)
    return a


def run_layer(tensors, layer, a, path):
    kind = layer.get("type")
    path = f"{path} ({kind})"
    if kind in ("conv2d", "maxpool2d", "avgpool2d", "global_avgpool") and a.ndim != 4:
        raise ValueError(f"{path}: needs a [C, H, W] input")
    if kind == "dense":
        a = chw_flat(a)
        units = int(layer["units"])
        w = tensor(tensors, f"{layer['name']}.weight", (units, a.shape[1]), path)
        b = tensor(tensors, f"{layer['name']}.bias", (units,), path)
        return a @ w.T + b
    if kind == "conv2d":
        return conv2d(tensors, layer, a, path)
    if kind == "relu":
        return np.maximum(a, 0.0)
    if kind == "tanh":
        return np.tanh(a)
    if kind in ("maxpool2d", "avgpool2d"):
        k = int(layer["kernel"])
        return pool2d(a, k, int(layer.get("stride", k)), kind == "maxpool2d", path)
    if kind == "global_avgpool":
        return a.mean(axis=(1, 2))
    if kind == "flatten":
        return chw_flat(a)
    if kind == "residual":
        body = run_layers(tensors, layer["body"], a, f"{path}.body")
        shortcut = run_layers(tensors, layer.get("shortcut", []), a, f"{path}.shortcut")
        if body.shape != shortcut.shape:
            raise ValueError(f"{path}: body gives {body.shape[1:]}, shortcut gives {shortcut.shape[1:]}")
        return body + shortcut
    if kind == "batchnorm2d":
        raise ValueError(f"{path}: an export has no batch normalisation (unlearnd folds it into the convolution "
                         "at import); export the model with `unlearnctl export`")
    raise ValueError(f"{path}: unknown layer type")


def output_size(size, k, s, path):
    out = (size - k) // s + 1
    if size < k or out <= 0:
        raise ValueError(f"{path}: a {k}x{k} window does not fit an input of size {size}")
    return out


def conv2d(tensors, layer, a, path):
    """nn.Conv2d with zero padding: im2col (one row of k*k*C values per output position, filled by one strided copy
    per kernel offset) times the weights as a [k*k*C, out] matrix, in chunks of rows."""
    n, h, w, c = a.shape
    o, k = int(layer["out_channels"]), int(layer["kernel"])
    s, p = int(layer.get("stride", 1)), int(layer.get("padding", 0))
    weight = tensor(tensors, f"{layer['name']}.weight", (o, c, k, k), path)
    bias_name = f"{layer['name']}.bias"
    bias = tensor(tensors, bias_name, (o,), path) if bias_name in tensors else np.zeros(o)
    ho, wo = output_size(h + 2 * p, k, s, path), output_size(w + 2 * p, k, s, path)
    if p:
        a = np.pad(a, ((0, 0), (p, p), (p, p), (0, 0)))
    wmat = np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(k * k * c, o))  # rows (di, dj, c)
    out = np.empty((n, ho, wo, o))
    chunk = max(1, IM2COL_BYTES // (ho * wo * k * k * c * 8))
    cols = np.empty((min(chunk, n), ho, wo, k, k, c))
    for start in range(0, n, chunk):
        rows = a[start:start + chunk]
        m = rows.shape[0]
        for di in range(k):
            for dj in range(k):
                cols[:m, :, :, di, dj, :] = rows[:, di:di + s * (ho - 1) + 1:s, dj:dj + s * (wo - 1) + 1:s, :]
        np.matmul(cols[:m].reshape(m * ho * wo, k * k * c), wmat, out=out[start:start + m].reshape(m * ho * wo, o))
    out += bias
    return out


def pool2d(a, k, s, is_max, path):
    """nn.MaxPool2d / nn.AvgPool2d without padding, ceil_mode=False: one strided view per window offset."""
    n, h, w, c = a.shape
    ho, wo = output_size(h, k, s, path), output_size(w, k, s, path)
    out = None
    for di in range(k):
        for dj in range(k):
            window = a[:, di:di + s * (ho - 1) + 1:s, dj:dj + s * (wo - 1) + 1:s, :]
            if out is None:
                out = window.copy()
            elif is_max:
                np.maximum(out, window, out=out)
            else:
                out += window
    return out if is_max else out / (k * k)


# ---------------------------------------------------------------------------------------------------------------


def read_rows(path):
    if path.endswith(".zst"):
        text = subprocess.run(["zstd", "-dc", path], check=True, capture_output=True).stdout.decode()
    else:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    first_feature = header.index("x0")
    ids, labels, features = [], [], []
    for row in reader:
        if not row:
            continue
        ids.append(row[0])
        labels.append(int(row[header.index("label")]))
        features.append([float(v) for v in row[first_feature:]])
    return ids, np.array(labels), np.array(features, dtype=np.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="exported .safetensors file")
    parser.add_argument("rows", help="CSV or CSV.zst with sample_id,subject,label,x0,...")
    parser.add_argument("--json", action="store_true", help="print logits and predicted labels as JSON")
    args = parser.parse_args()

    tensors, architecture, metadata = load_model(args.model)
    ids, labels, x = read_rows(args.rows)
    expected = input_size(architecture)
    if x.shape[1] != expected:
        sys.exit(f"{args.rows} has {x.shape[1]} features; the model expects {expected}")
    try:
        scores = logits(tensors, architecture, x)
    except (KeyError, ValueError) as error:
        sys.exit(f"{args.model}: {error.args[0] if error.args else error}")
    predicted = scores.argmax(axis=1)
    if args.json:
        json.dump({"ids": ids, "logits": scores.tolist(), "predicted": predicted.tolist()}, sys.stdout)
        print()
        return
    for sample_id, label in zip(ids, predicted):
        print(f"{sample_id},{label}")
    print(f"# model {metadata.get('unlearnd.model_id')} v{metadata.get('unlearnd.version')}: "
          f"accuracy {float((predicted == labels).mean()):.4f} on {len(ids)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
