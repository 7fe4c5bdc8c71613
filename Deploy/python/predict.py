#!/usr/bin/env python3
"""Reproduce unlearnd's predictions from an exported snapshot with NumPy only.

Export the weights first:
    unlearnctl export --safetensors /var/lib/unlearnd/models/<model> --out model.safetensors

Then:
    python3 predict.py model.safetensors rows.csv            # prints sample_id,predicted_label
    python3 predict.py model.safetensors rows.csv.zst --json # logits and labels as JSON

rows.csv has the training-set layout: sample_id,subject,label,x0,...,x{d-1} (raw, unstandardised features);
.zst files are decompressed with the `zstd` command. Requires: pip install safetensors numpy.

The export holds, per dense layer l, `layers.{l}.weight` [out, in] and `layers.{l}.bias` [out] (torch.nn.Linear
naming, float64), and `input.mean` / `input.std` [d] when the model standardises its inputs. The activations are
in the metadata entry `unlearnd.architecture` (JSON). The forward pass is: x -> (x - mean) / std -> for each
layer: act(x @ W.T + b) -> argmax of the last layer's outputs (softmax does not change the argmax).
"""
import argparse
import csv
import io
import json
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


def load_model(path):
    tensors = load_file(path)
    with safe_open(path, framework="np") as f:
        metadata = f.metadata() or {}
    architecture = json.loads(metadata["unlearnd.architecture"])
    return tensors, architecture, metadata


def logits(tensors, architecture, x):
    """Class scores for the rows of x (n x d, raw features)."""
    a = np.asarray(x, dtype=np.float64)
    if "input.mean" in tensors:
        a = (a - tensors["input.mean"]) / tensors["input.std"]
    for l, layer in enumerate(architecture["layers"]):
        z = a @ tensors[f"layers.{l}.weight"].T + tensors[f"layers.{l}.bias"]
        a = ACTIVATIONS[layer["activation"]](z)
    return a


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
    if x.shape[1] != architecture["inputs"]:
        sys.exit(f"{args.rows} has {x.shape[1]} features; the model expects {architecture['inputs']}")
    scores = logits(tensors, architecture, x)
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
