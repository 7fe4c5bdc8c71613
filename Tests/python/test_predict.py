#!/usr/bin/env python3
"""Checks Deploy/python/predict.py (the NumPy-only forward pass over an export) against torch_network.py.

Run with the interpreter of `./dev torch` (PyTorch + safetensors + NumPy):
    $(./dev torch) Tests/python/test_predict.py

For several architectures of docs/NETWORKS.md (the CNN example, a resnet8-like network, a tanh/avgpool network on a
3x8x8 input, odd shapes, and the legacy MLP form), a network with PyTorch's random initialisation is built with
torch_network.build() and written the way `unlearnctl export` writes it: float64 tensors by name, `input.mean` /
`input.std`, and the architecture JSON in the metadata entry `unlearnd.architecture`. Random raw rows go to a CSV;
predict.py runs on it as a subprocess with --json and torch_network.py's `logits --mean-std` subcommand (PyTorch's
own layers, its own CSV reader and weight loader) gives the reference. Logits agree to 1e-9 relative (to
max(1, |logit|)), predicted labels exactly. Ends with "N passed, M failed".
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import torch_network as tn  # noqa: E402

TORCH_SCRIPT = os.path.join(HERE, "torch_network.py")
PREDICT = os.path.join(ROOT, "Deploy", "python", "predict.py")
TOLERANCE = 1e-9

# --- architectures ----------------------------------------------------------------------------------------------

# The example of docs/NETWORKS.md, verbatim.
DOCS_CNN = {
    "input": [1, 28, 28],
    "layers": [
        {"type": "conv2d", "name": "features.0", "out_channels": 16, "kernel": 5, "stride": 1, "padding": 0},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2, "stride": 2},
        {"type": "conv2d", "name": "features.3", "out_channels": 32, "kernel": 5},
        {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"},
        {"type": "dense", "name": "classifier", "units": 10},
    ],
}


def resnet8(classes=10):
    """conv3x3 16 pad 1 + relu; residual blocks of 16, 32, 64 channels (the 32 and 64 blocks: stride-2 first conv
    and a 1x1 stride-2 conv shortcut), relu after each; global average pooling; dense."""
    def block(name, out, stride):
        body = [
            {"type": "conv2d", "name": f"{name}.conv1", "out_channels": out, "kernel": 3, "stride": stride,
             "padding": 1},
            {"type": "relu"},
            {"type": "conv2d", "name": f"{name}.conv2", "out_channels": out, "kernel": 3, "stride": 1, "padding": 1},
        ]
        shortcut = [] if stride == 1 else [
            {"type": "conv2d", "name": f"{name}.shortcut", "out_channels": out, "kernel": 1, "stride": stride}]
        return [{"type": "residual", "body": body, "shortcut": shortcut}, {"type": "relu"}]

    return {
        "input": [1, 28, 28],
        "layers": [
            {"type": "conv2d", "name": "stem", "out_channels": 16, "kernel": 3, "stride": 1, "padding": 1},
            {"type": "relu"},
            *block("block1", 16, 1),
            *block("block2", 32, 2),
            *block("block3", 64, 2),
            {"type": "global_avgpool"},
            {"type": "dense", "name": "fc", "units": classes},
        ],
    }


# avgpool2d and tanh on a 3-channel 8x8 input: a default stride (2x2 -> stride 2), a pooling that floors (5 -> 2,
# where ceil_mode would give 3), padding, and a flatten of a map larger than 1x1 (CHW order matters).
TANH_AVGPOOL = {
    "input": [3, 8, 8],
    "layers": [
        {"type": "conv2d", "name": "c1", "out_channels": 6, "kernel": 3, "padding": 1},  # 6x8x8
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel": 2},  # 6x4x4
        {"type": "conv2d", "name": "c2", "out_channels": 5, "kernel": 2, "padding": 1},  # 5x5x5
        {"type": "tanh"},
        {"type": "avgpool2d", "kernel": 2, "stride": 2},  # 5x2x2
        {"type": "flatten"},
        {"type": "dense", "name": "h", "units": 7},
        {"type": "tanh"},
        {"type": "dense", "name": "out", "units": 4},
    ],
}

# Non-square maps (H != W) throughout, stride 2 with padding 2, an identity residual, max pooling that floors in W
# (5 -> 2, ceil_mode would give 3), and a dense layer reading a [C, H, W] input directly (no flatten).
ODD_SHAPES = {
    "input": [2, 11, 9],
    "layers": [
        {"type": "conv2d", "name": "a", "out_channels": 3, "kernel": 5, "stride": 2, "padding": 2},  # 3x6x5
        {"type": "relu"},
        {"type": "residual",
         "body": [{"type": "conv2d", "name": "r.conv", "out_channels": 3, "kernel": 3, "padding": 1},
                  {"type": "tanh"}],
         "shortcut": []},
        {"type": "maxpool2d", "kernel": 2},  # 3x3x2
        {"type": "conv2d", "name": "b", "out_channels": 4, "kernel": 1},  # 4x3x2
        {"type": "dense", "name": "d", "units": 3},
    ],
}

# The layer form with a vector input: dense-only (the export writes these in the legacy form, but both must load).
VECTOR_LAYERS = {
    "input": [6],
    "layers": [
        {"type": "dense", "name": "hidden", "units": 5},
        {"type": "tanh"},
        {"type": "flatten"},
        {"type": "dense", "name": "out", "units": 3},
    ],
}

MLP_LEGACY = {"inputs": 6, "layers": [{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "relu"},
                                      {"units": 3, "activation": "identity"}]}

# --- helpers ----------------------------------------------------------------------------------------------------


def export(directory, arch, seed):
    """Writes DIR/model.safetensors shaped like `unlearnctl export` (float64 tensors, input.mean/std, the
    architecture in the metadata) and DIR/architecture.json; returns (path, input size)."""
    torch.manual_seed(seed)
    net = tn.build(arch)  # PyTorch's default initialisation, float64
    tensors = {name: p.detach().to(torch.float64).contiguous().clone() for name, p in net.parameter_tensors().items()}
    d = math.prod(net.input_shape)
    generator = torch.Generator().manual_seed(seed + 1)
    tensors["input.mean"] = torch.randn(d, generator=generator, dtype=torch.float64) * 3.0
    tensors["input.std"] = torch.rand(d, generator=generator, dtype=torch.float64) * 2.0 + 0.5
    metadata = {"unlearnd.architecture": json.dumps(arch), "unlearnd.model_id": "test-model", "unlearnd.version": "7"}
    path = os.path.join(directory, "model.safetensors")
    save_file(tensors, path, metadata=metadata)
    with open(os.path.join(directory, "architecture.json"), "w", encoding="utf-8") as f:
        json.dump(arch, f)
    return path, d, tensors


def write_rows(directory, tensors, n, classes, seed):
    """DIR/rows.csv: n raw rows around the input standardisation (repr round-trips every float64 exactly)."""
    generator = torch.Generator().manual_seed(seed)
    mean, std = tensors["input.mean"], tensors["input.std"]
    x = mean + std * torch.randn(n, mean.shape[0], generator=generator, dtype=torch.float64)
    labels = torch.randint(0, classes, (n,), generator=generator)
    path = os.path.join(directory, "rows.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("sample_id,subject,label," + ",".join(f"x{j}" for j in range(mean.shape[0])) + "\n")
        for i in range(n):
            f.write(f"s{i},subj{i % 5},{int(labels[i])}," + ",".join(repr(v) for v in x[i].tolist()) + "\n")
    return path, x, labels


def run(argv, python=sys.executable):
    result = subprocess.run([python, *argv], capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{os.path.basename(argv[0])} {argv[1:]} exited {result.returncode}:\n{result.stderr}")
    return result


def torch_logits(directory, model, rows):
    out = run([TORCH_SCRIPT, "logits", "--architecture", os.path.join(directory, "architecture.json"),
               "--weights", model, "--csv", rows, "--mean-std"])
    return json.loads(out.stdout)


def compare(name, got, expected, n):
    """predict.py's --json output against torch's logits: 1e-9 relative, predictions exactly; returns max error."""
    assert set(got) == {"ids", "logits", "predicted"}, sorted(got)
    assert got["ids"] == [f"s{i}" for i in range(n)], f"{name}: ids"
    assert len(got["logits"]) == n and len(expected["logits"]) == n, f"{name}: row counts"
    worst = 0.0
    for i, (a_row, b_row) in enumerate(zip(got["logits"], expected["logits"])):
        assert len(a_row) == len(b_row), f"{name} row {i}: {len(a_row)} logits, torch {len(b_row)}"
        for a, b in zip(a_row, b_row):
            error = abs(a - b) / max(1.0, abs(b))
            worst = max(worst, error)
            assert error <= TOLERANCE, f"{name} row {i}: predict.py {a!r}, torch {b!r}"
    assert got["predicted"] == expected["predicted"], f"{name}: predicted labels differ"
    assert all(isinstance(p, int) for p in got["predicted"])
    return worst


def check_architecture(name, arch, n, seed, classes):
    with tempfile.TemporaryDirectory() as tmp:
        model, _, tensors = export(tmp, arch, seed)
        rows, _, _ = write_rows(tmp, tensors, n, classes, seed + 2)
        start = time.perf_counter()
        got = json.loads(run([PREDICT, model, rows, "--json"]).stdout)
        seconds = time.perf_counter() - start
        worst = compare(name, got, torch_logits(tmp, model, rows), n)
        print(f"     {name}: {n} rows, predict.py {seconds:.2f} s, max relative logit error {worst:.1e}")
        return seconds


def system_python():
    """(path, None) for the python3 on PATH when it has numpy and safetensors, else (None, reason)."""
    python = shutil.which("python3")
    if python is None:
        return None, "no python3 on PATH"
    probe = subprocess.run([python, "-c", "import numpy, safetensors"], capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["import failed"])[-1]
        return None, f"{python} lacks numpy or safetensors ({last})"
    return python, None


# --- tests ------------------------------------------------------------------------------------------------------


def test_docs_cnn():
    check_architecture("docs CNN 1x28x28", DOCS_CNN, 300, seed=1, classes=10)


def test_resnet8_1000_rows():
    seconds = check_architecture("resnet8-like 1x28x28", resnet8(), 1000, seed=2, classes=10)
    assert seconds < 15.0, f"predict.py took {seconds:.1f} s for 1,000 rows of the resnet8-like network"


def test_resnet8_forward_time():
    """The forward pass alone (predict.logits in this process, without CSV parsing and start-up)."""
    sys.path.insert(0, os.path.dirname(PREDICT))
    import predict  # noqa: E402

    with tempfile.TemporaryDirectory() as tmp:
        model, d, tensors = export(tmp, resnet8(), seed=3)
        x = (tensors["input.mean"] + tensors["input.std"] * torch.randn(1000, d, dtype=torch.float64)).numpy()
        loaded, architecture, metadata = predict.load_model(model)
        assert metadata["unlearnd.model_id"] == "test-model" and metadata["unlearnd.version"] == "7"
        start = time.perf_counter()
        scores = predict.logits(loaded, architecture, x)
        seconds = time.perf_counter() - start
        net = tn.build(resnet8())
        net.load_tensors(tensors)
        with torch.no_grad():  # the first 200 rows: test_resnet8_1000_rows compares all of a 1,000-row run
            expected = net((torch.from_numpy(x[:200]) - tensors["input.mean"]) / tensors["input.std"]).numpy()
        assert scores.dtype.name == "float64" and scores.shape == (1000, 10), (scores.dtype, scores.shape)
        error = float((abs(scores[:200] - expected) / abs(expected).clip(min=1.0)).max())
        assert error <= TOLERANCE, error
        assert (scores[:200].argmax(axis=1) == expected.argmax(axis=1)).all()
        print(f"     resnet8-like forward pass in-process: 1000 rows in {seconds:.2f} s (max rel error {error:.1e})")
        assert seconds < 10.0, seconds


def test_tanh_avgpool_3x8x8():
    check_architecture("tanh/avgpool 3x8x8", TANH_AVGPOOL, 200, seed=4, classes=4)


def test_odd_shapes():
    check_architecture("odd shapes 2x11x9", ODD_SHAPES, 200, seed=5, classes=3)


def test_vector_layer_form():
    check_architecture("layer form [6]", VECTOR_LAYERS, 100, seed=6, classes=3)


def test_legacy_mlp():
    """The legacy form ({"inputs", "layers": [{"units", "activation"}]}, tensors layers.{l}.weight/bias)."""
    assert [n for n, _ in tn.build(MLP_LEGACY).parametric] == ["layers.0", "layers.1", "layers.2"]
    check_architecture("legacy MLP", MLP_LEGACY, 100, seed=7, classes=3)


def test_plain_output():
    """Without --json: one `sample_id,predicted_label` line per row on stdout, the accuracy line on stderr."""
    with tempfile.TemporaryDirectory() as tmp:
        model, _, tensors = export(tmp, TANH_AVGPOOL, seed=8)
        rows, _, labels = write_rows(tmp, tensors, 50, 4, seed=9)
        expected = torch_logits(tmp, model, rows)["predicted"]
        result = run([PREDICT, model, rows])
        assert result.stdout.splitlines() == [f"s{i},{p}" for i, p in enumerate(expected)], result.stdout[:200]
        accuracy = sum(int(p == int(y)) for p, y in zip(expected, labels)) / 50
        assert result.stderr.strip() == f"# model test-model v7: accuracy {accuracy:.4f} on 50 rows", result.stderr


def test_rejects_bad_input():
    """A wrong feature count and a batchnorm2d (never in an export) end with a message, not a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        model, _, tensors = export(tmp, TANH_AVGPOOL, seed=10)
        rows = os.path.join(tmp, "short.csv")
        with open(rows, "w", encoding="utf-8") as f:
            f.write("sample_id,subject,label,x0,x1\ns0,,0,1.0,2.0\n")
        result = subprocess.run([sys.executable, PREDICT, model, rows], capture_output=True, text=True)
        assert result.returncode != 0 and "has 2 features; the model expects 192" in result.stderr, result.stderr

        arch = json.loads(json.dumps(DOCS_CNN))
        arch["layers"].insert(1, {"type": "batchnorm2d", "name": "features.1"})
        bn_model = os.path.join(tmp, "bn.safetensors")
        torch.manual_seed(11)
        net = tn.build(DOCS_CNN)
        bn_tensors = {k: p.detach().clone() for k, p in net.parameter_tensors().items()}
        save_file(bn_tensors, bn_model, metadata={"unlearnd.architecture": json.dumps(arch)})
        rows, _, _ = write_rows(tmp, {"input.mean": torch.zeros(784), "input.std": torch.ones(784)}, 3, 10, seed=12)
        result = subprocess.run([sys.executable, PREDICT, bn_model, rows], capture_output=True, text=True)
        assert result.returncode != 0 and "batch normalisation" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr, result.stderr


def test_system_python3():
    """predict.py with the python3 on PATH (what the README tells users to run), when it has numpy + safetensors."""
    python, reason = system_python()
    if python is None:
        print(f"     skipped: {reason}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        for name, arch, seed, classes in (("docs CNN", DOCS_CNN, 13, 10), ("legacy MLP", MLP_LEGACY, 14, 3)):
            model, _, tensors = export(tmp, arch, seed)
            rows, _, _ = write_rows(tmp, tensors, 40, classes, seed + 1)
            got = json.loads(run([PREDICT, model, rows, "--json"], python=python).stdout)
            compare(f"{name} with {python}", got, torch_logits(tmp, model, rows), 40)
        print(f"     ran with {python}")


def main():
    torch.manual_seed(0)
    tests = [(name, f) for name, f in globals().items() if name.startswith("test_") and callable(f)]
    passed = failed = 0
    start = time.perf_counter()
    for name, f in tests:
        t = time.perf_counter()
        try:
            f()
            passed += 1
            print(f"ok   {name} ({time.perf_counter() - t:.1f} s)")
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc()
    print(f"{passed} passed, {failed} failed ({time.perf_counter() - start:.1f} s)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
