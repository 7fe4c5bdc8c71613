#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into Fuzz/corpus/<target>/ (committed; rerun after a format change).

Seeds come from the schema examples (Config/schemas/examples), the shipped configuration and architecture files,
the legacy test fixtures (Tests/Fixtures/legacy) and small snapshots, safetensors files and PyTorch state dicts
built here in the documented formats (docs/NETWORKS.md, docs/ARCHITECTURE.md). Needs numpy and the zstd tool.
"""

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "Fuzz" / "corpus"
LEGACY = ROOT / "Tests" / "Fixtures" / "legacy"


def safetensors(tensors, metadata=None):
    """A safetensors file: 8-byte little-endian header length, JSON header, data (tensors in name order)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def f64(shape, seed):
    values = np.random.default_rng(seed).normal(0, 0.5, size=shape)
    return ("F64", shape, values.astype("<f8").tobytes())


def f32(shape, seed):
    values = np.random.default_rng(seed).normal(0, 0.5, size=shape)
    return ("F32", shape, values.astype("<f4").tobytes())


def zstd(payload: bytes) -> bytes:
    """One zstd frame with content size and checksum, as the snapshot codec writes."""
    return subprocess.run(["zstd", "-q", "-c", "--check", "-3", f"--stream-size={len(payload)}"], input=payload, capture_output=True, check=True).stdout


def decompress(path: Path) -> bytes:
    return subprocess.run(["zstd", "-q", "-dc", str(path)], capture_output=True, check=True).stdout


def write(target: str, name: str, content: bytes):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(content)


def read_safetensors(blob: bytes):
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8 : 8 + n])
    return header, blob[8 + n :]


def tiny_snapshots(template: bytes):
    """Snapshots of small networks: a legacy payload's manifest with its architecture and tensors replaced."""
    header, _ = read_safetensors(template)
    manifest = json.loads(header["__metadata__"]["unlearnd.manifest"])
    networks = {
        "logreg-2x3": ({"inputs": 2, "layers": [{"activation": "identity", "units": 3}]}, {"layers.0.weight": (3, 2), "layers.0.bias": (3,)}),
        "mlp-2-3-2": (
            {"inputs": 2, "layers": [{"activation": "relu", "units": 3}, {"activation": "identity", "units": 2}]},
            {"layers.0.weight": (3, 2), "layers.0.bias": (3,), "layers.1.weight": (2, 3), "layers.1.bias": (2,)},
        ),
        "cnn-1x4x4": (
            {
                "input": [1, 4, 4],
                "layers": [
                    {"type": "conv2d", "name": "c", "out_channels": 2, "kernel": 3, "padding": 1},
                    {"type": "relu"},
                    {"type": "maxpool2d", "kernel": 2},
                    {"type": "flatten"},
                    {"type": "dense", "name": "d", "units": 2},
                ],
            },
            {"c.weight": (2, 1, 3, 3), "c.bias": (2,), "d.weight": (2, 8), "d.bias": (2,)},
        ),
    }
    out = {}
    for seed, (name, (architecture, shapes)) in enumerate(networks.items()):
        m = dict(manifest, architecture=architecture, model_id=f"fuzz-{name}")
        inputs = architecture.get("inputs") or int(np.prod(architecture["input"]))
        tensors = {k: f64(v, seed * 10 + i) for i, (k, v) in enumerate(shapes.items())}
        tensors["input.mean"] = f64((inputs,), 7)
        tensors["input.std"] = ("F64", (inputs,), np.ones(inputs).astype("<f8").tobytes())
        metadata = {"format": "pt", "unlearnd.manifest": json.dumps(m, separators=(",", ":"), sort_keys=True)}
        out[name] = safetensors(tensors, metadata)
    return out


def main():
    if CORPUS.exists():
        shutil.rmtree(CORPUS)

    for path in sorted((ROOT / "Config" / "schemas" / "examples").glob("deletion-request.*.json")):
        write("deletion-request", path.name, path.read_bytes())

    write("configuration", "unlearnd.json", (ROOT / "Config" / "unlearnd.json").read_bytes())
    write("configuration", "empty-object.json", b"{}\n")
    write("configuration", "dotted.json", b'{"batch.max_rows": 5, "kafka": {"bootstrap.servers": "localhost:9092"}}\n')

    # safetensors: a legacy bundle's weights and small files of every dtype family and shape kind.
    write("safetensors", "legacy-logreg-model.safetensors", (LEGACY / "bundles" / "digits-logreg" / "model.safetensors").read_bytes())
    write("safetensors", "empty.safetensors", safetensors({}))
    write("safetensors", "metadata-only.safetensors", safetensors({}, {"format": "pt"}))
    write(
        "safetensors",
        "mixed.safetensors",
        safetensors(
            {
                "a": f64((2, 3), 1),
                "b": f32((4,), 2),
                "c": ("I64", (2,), np.array([1, -2]).astype("<i8").tobytes()),
                "d": ("U8", (3,), bytes([1, 2, 3])),
                "e": ("BF16", (2,), b"\x80\x3f\x00\x40"),
                "f": ("BOOL", (2,), b"\x00\x01"),
                "scalar": ("F32", (), np.float32(1.5).tobytes()),
                "zero": ("F64", (0, 3), b""),
            },
            {"format": "pt", "note": "fuzz seed"},
        ),
    )

    # Snapshots: one the previous release wrote, and small ones of each network kind in the current format.
    legacy = LEGACY / "state" / "models" / "digits-logreg" / "v000000000001.safetensors.zst"
    template = decompress(legacy)
    write("snapshot", "legacy-logreg-v1.safetensors.zst", legacy.read_bytes())
    write("snapshot-payload", "legacy-logreg-v1.safetensors", template)
    for name, payload in tiny_snapshots(template).items():
        write("snapshot", f"{name}.safetensors.zst", zstd(payload))
        write("snapshot-payload", f"{name}.safetensors", payload)

    digits = decompress(ROOT / "data" / "digits.csv.zst").split(b"\n")
    write("training-csv", "digits-head.csv", b"\n".join(digits[:4]) + b"\n")
    write("training-csv", "small.csv", b"sample_id,subject,label,x0,x1\ns1,alice,0,0.5,-1e3\ns2,,1,2,3.25\n")
    write("training-csv", "crlf.csv", b"sample_id,subject,label,f\r\na,,0,1\r\nb,u,2,-0.0\r\n")

    write("architecture", "digits-cnn.json", (ROOT / "Config" / "architectures" / "digits-cnn.json").read_bytes())
    write("architecture", "legacy-mlp.json", b'{"inputs": 4, "layers": [{"units": 3, "activation": "relu"}, {"units": 2, "activation": "identity"}]}')
    residual = {
        "input": [2, 4, 4],
        "layers": [
            {"type": "conv2d", "name": "stem", "out_channels": 2, "kernel": 3, "padding": 1},
            {
                "type": "residual",
                "body": [
                    {"type": "conv2d", "name": "b.0", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
                    {"type": "tanh"},
                    {"type": "conv2d", "name": "b.1", "out_channels": 4, "kernel": 1},
                ],
                "shortcut": [{"type": "conv2d", "name": "s", "out_channels": 4, "kernel": 1, "stride": 2}],
            },
            {"type": "relu"},
            {"type": "avgpool2d", "kernel": 2, "stride": 1},
            {"type": "global_avgpool"},
            {"type": "dense", "name": "fc", "units": 3},
        ],
    }
    write("architecture", "residual.json", json.dumps(residual).encode())

    # PyTorch import: architecture JSON with lambda, a NUL byte, then the state dict.
    cnn = {
        "lambda": 0.001,
        "input": [1, 4, 4],
        "layers": [
            {"type": "conv2d", "name": "features.0", "out_channels": 2, "kernel": 3, "padding": 1},
            {"type": "batchnorm2d", "name": "features.1", "eps": 1e-5},
            {"type": "relu"},
            {"type": "maxpool2d", "kernel": 2},
            {"type": "flatten"},
            {"type": "dense", "name": "classifier", "units": 3},
        ],
    }
    state = {
        "features.0.weight": f32((2, 1, 3, 3), 1),
        "features.1.weight": f32((2,), 2),
        "features.1.bias": f32((2,), 3),
        "features.1.running_mean": f32((2,), 4),
        "features.1.running_var": ("F32", (2,), np.array([0.5, 2.0]).astype("<f4").tobytes()),
        "features.1.num_batches_tracked": ("I64", (), np.int64(10).tobytes()),
        "classifier.weight": f32((3, 8), 5),
        "classifier.bias": f32((3,), 6),
    }
    write("pytorch-import", "cnn-batchnorm", json.dumps(cnn).encode() + b"\0" + safetensors(state, {"format": "pt"}))
    res = dict(residual, **{"lambda": 0.01})
    state = {
        "stem.weight": f64((2, 2, 3, 3), 1),
        "stem.bias": f64((2,), 2),
        "b.0.weight": f64((4, 2, 3, 3), 3),
        "b.0.bias": f64((4,), 4),
        "b.1.weight": f64((4, 4, 1, 1), 5),
        "b.1.bias": f64((4,), 6),
        "s.weight": f64((4, 2, 1, 1), 7),
        "fc.weight": f64((3, 4), 8),
        "fc.bias": f64((3,), 9),
        "input.mean": f64((32,), 10),
        "input.std": ("F64", (32,), np.full(32, 2.0).astype("<f8").tobytes()),
    }
    write("pytorch-import", "residual-standardized", json.dumps(res).encode() + b"\0" + safetensors(state))
    dense = {"lambda": 0.1, "inputs": 3, "layers": [{"units": 2, "activation": "identity"}]}
    state = {"layers.0.weight": f64((2, 3), 1), "layers.0.bias": f64((2,), 2)}
    write("pytorch-import", "legacy-logreg", json.dumps(dense).encode() + b"\0" + safetensors(state))

    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in CORPUS.rglob('*') if p.is_file())} seeds, {total} bytes, into {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
