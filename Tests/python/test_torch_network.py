#!/usr/bin/env python3
"""Self-checks of torch_network.py, the PyTorch reference the Swift network tests compare against.

Run with the interpreter of `./dev torch`:
    $UNLEARND_TORCH_PYTHON Tests/python/test_torch_network.py

Each check compares the reference with a computation that does not share its code path: hand-written PyTorch
modules, explicit Jacobians, finite differences, the docs/NETWORKS.md batch-norm fold. The subcommands are run as
the Swift side runs them, as subprocesses.
"""
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import traceback

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import torch_network as tn  # noqa: E402

SCRIPT = os.path.join(HERE, "torch_network.py")
MNIST = os.path.join(ROOT, "data", "mnist5k.csv.zst")

# --- architectures ----------------------------------------------------------------------------------------------

MLP_LEGACY = {"inputs": 6, "layers": [{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "relu"},
                                      {"units": 3, "activation": "identity"}]}

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

# A small ResNet: a projection block (1x1 stride-2 shortcut) and an identity block, tanh, avgpool, global pool.
def small_resnet(channels=2, size=6, classes=3):
    return {
        "input": [channels, size, size],
        "layers": [
            {"type": "conv2d", "name": "stem", "out_channels": 3, "kernel": 3, "padding": 1},
            {"type": "relu"},
            {"type": "residual",
             "body": [
                 {"type": "conv2d", "name": "b1.conv1", "out_channels": 4, "kernel": 3, "stride": 2, "padding": 1},
                 {"type": "relu"},
                 {"type": "conv2d", "name": "b1.conv2", "out_channels": 4, "kernel": 3, "padding": 1},
             ],
             "shortcut": [{"type": "conv2d", "name": "b1.down", "out_channels": 4, "kernel": 1, "stride": 2}]},
            {"type": "relu"},
            {"type": "residual",
             "body": [{"type": "conv2d", "name": "b2.conv", "out_channels": 4, "kernel": 3, "padding": 1},
                      {"type": "tanh"}],
             "shortcut": []},
            {"type": "avgpool2d", "kernel": 2, "stride": 1},
            {"type": "global_avgpool"},
            {"type": "dense", "name": "head.hidden", "units": 5},
            {"type": "tanh"},
            {"type": "dense", "name": "head.out", "units": classes},
        ],
    }


def random_weights(net, seed, scale=0.5):
    """{tensor name: random tensor} for every tensor of net (batch-norm variances positive)."""
    g = torch.Generator().manual_seed(seed)
    own = net.state_dict()
    out = {}
    for name, path in net.module_path.items():
        shape = own[path].shape
        t = torch.randn(shape, generator=g, dtype=torch.float64) * scale
        if name.endswith("running_var"):
            t = t.abs() + 0.5
        out[name] = t
    return out


def build_loaded(arch, seed):
    net = tn.build(arch)
    weights = random_weights(net, seed)
    net.load_tensors(weights)
    return net, weights


def run(*args, timeout=120):
    result = subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[0]} failed ({result.returncode}): {result.stderr}"
    return result.stdout


def close(a, b, rtol=1e-9, atol=1e-11):
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    assert a.shape == b.shape, f"shapes {list(a.shape)} vs {list(b.shape)}"
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert torch.allclose(a, b, rtol=rtol, atol=atol), f"max abs difference {err:.3e}"


def flat_function(net, x):
    """theta (flat, theta order of tensors) -> logits, through functional_call: the explicit-Jacobian path."""
    names = net.tensor_names()
    shapes = [net.parameter_tensors()[k].shape for k in names]
    sizes = [math.prod(s) for s in shapes]

    def f(theta):
        parts = torch.split(theta, sizes)
        replaced = {net.module_path[k]: p.reshape(s) for k, p, s in zip(names, parts, shapes)}
        return torch.nn.utils.stateless.functional_call(net, replaced, (x,))

    theta = torch.cat([net.parameter_tensors()[k].detach().reshape(-1) for k in names])
    return f, theta, names, sizes


def derivatives_cli(arch, weights, x, labels, lam, v, tmp):
    arch_path, w_path = os.path.join(tmp, "arch.json"), os.path.join(tmp, "w.safetensors")
    in_path, out_path = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    with open(arch_path, "w") as f:
        json.dump(arch, f)
    save_file({k: t.contiguous() for k, t in weights.items()}, w_path)
    inputs = {"x": x, "labels": labels, "lambda": torch.tensor([lam], dtype=torch.float64)}
    inputs.update({f"v.{k}": t.contiguous() for k, t in v.items()})
    save_file(inputs, in_path)
    run("derivatives", "--architecture", arch_path, "--weights", w_path, "--inputs", in_path, "--out", out_path)
    out = load_file(out_path)
    assert all(t.dtype == torch.float64 for t in out.values())
    return out


def write_csv(path, x, labels):
    with open(path, "w") as f:
        f.write("sample_id,subject,label," + ",".join(f"x{j}" for j in range(x.shape[1])) + "\n")
        for i in range(x.shape[0]):
            f.write(f"t-{i},s-{i // 2},{int(labels[i])}," + ",".join(repr(float(v)) for v in x[i]) + "\n")


# --- forward pass ------------------------------------------------------------------------------------------------

def test_legacy_mlp_forward():
    net, w = build_loaded(MLP_LEGACY, 1)
    assert net.tensor_names() == [f"layers.{l}.{t}" for l in range(3) for t in ("weight", "bias")]
    x = torch.randn(7, 6, dtype=torch.float64)
    a = torch.tanh(x @ w["layers.0.weight"].T + w["layers.0.bias"])
    a = torch.relu(a @ w["layers.1.weight"].T + w["layers.1.bias"])
    a = a @ w["layers.2.weight"].T + w["layers.2.bias"]
    with torch.no_grad():
        close(net(x), a, rtol=1e-13, atol=1e-14)


def test_docs_cnn_matches_handwritten_sequential():
    net, w = build_loaded(DOCS_CNN, 2)
    ref = nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(16, 32, 5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 10)).double()
    ref.load_state_dict({"0.weight": w["features.0.weight"], "0.bias": w["features.0.bias"],
                         "3.weight": w["features.3.weight"], "3.bias": w["features.3.bias"],
                         "7.weight": w["classifier.weight"], "7.bias": w["classifier.bias"]})
    x = torch.randn(4, 784, dtype=torch.float64)
    with torch.no_grad():
        close(net(x), ref(x.reshape(4, 1, 28, 28)), rtol=1e-12, atol=1e-12)
    assert net.classes == 10


def test_non_square_input_flattens_in_chw_order():
    arch = {"input": [2, 7, 5], "layers": [
        {"type": "conv2d", "name": "c", "out_channels": 3, "kernel": 2, "stride": 1, "padding": 1},
        {"type": "tanh"}, {"type": "avgpool2d", "kernel": 2, "stride": 2},
        {"type": "dense", "name": "d", "units": 4}]}  # dense straight after a [C, H, W] output
    net, w = build_loaded(arch, 12)
    x = torch.randn(3, 70, dtype=torch.float64)
    h = F.avg_pool2d(torch.tanh(F.conv2d(x.reshape(3, 2, 7, 5), w["c.weight"], w["c.bias"], padding=1)), 2)
    assert h.shape == (3, 3, 4, 3)
    with torch.no_grad():
        close(net(x), h.reshape(3, -1) @ w["d.weight"].T + w["d.bias"], rtol=1e-12, atol=1e-13)


def test_resnet_matches_functional_forward():
    arch = small_resnet()
    net, w = build_loaded(arch, 3)
    assert net.tensor_names()[:8] == ["stem.weight", "stem.bias", "b1.conv1.weight", "b1.conv1.bias",
                                      "b1.conv2.weight", "b1.conv2.bias", "b1.down.weight", "b1.down.bias"]
    x = torch.randn(5, 2 * 6 * 6, dtype=torch.float64)
    h = F.relu(F.conv2d(x.reshape(5, 2, 6, 6), w["stem.weight"], w["stem.bias"], padding=1))
    body = F.conv2d(F.relu(F.conv2d(h, w["b1.conv1.weight"], w["b1.conv1.bias"], stride=2, padding=1)),
                    w["b1.conv2.weight"], w["b1.conv2.bias"], padding=1)
    h = F.relu(body + F.conv2d(h, w["b1.down.weight"], w["b1.down.bias"], stride=2))  # [5, 4, 3, 3]
    h = torch.tanh(F.conv2d(h, w["b2.conv.weight"], w["b2.conv.bias"], padding=1)) + h
    h = F.avg_pool2d(h, 2, stride=1).mean(dim=(2, 3))
    h = torch.tanh(h @ w["head.hidden.weight"].T + w["head.hidden.bias"])
    with torch.no_grad():
        close(net(x), h @ w["head.out.weight"].T + w["head.out.bias"], rtol=1e-12, atol=1e-13)


def test_conv_without_bias_loads_zero_bias():
    net = tn.build(DOCS_CNN)
    w = random_weights(net, 4)
    del w["features.3.bias"]
    net.load_tensors(w)
    assert torch.equal(net.parameter_tensors()["features.3.bias"].detach(), torch.zeros(32, dtype=torch.float64))
    w2 = dict(w)
    del w2["classifier.bias"]  # a dense layer always has its bias
    try:
        net.load_tensors(w2)
        raise AssertionError("a missing dense bias was accepted")
    except KeyError:
        pass


def test_loader_rejects_unknown_and_misshapen_tensors():
    net = tn.build(MLP_LEGACY)
    w = random_weights(net, 5)
    net.load_tensors({**w, "input.mean": torch.zeros(6), "x.num_batches_tracked": torch.tensor(3)})
    for bad in ({**w, "layers.3.weight": torch.zeros(2, 2)}, {**w, "layers.0.bias": torch.zeros(4)}):
        try:
            net.load_tensors(bad)
            raise AssertionError("a bad weights dict was accepted")
        except (KeyError, ValueError):
            pass


def test_architecture_validation():
    bad = [
        {"input": [4], "layers": [{"type": "relu"}]},  # last layer not dense
        {"input": [1, 4, 4], "layers": [{"type": "relu"}, {"type": "batchnorm2d", "name": "bn"},
                                        {"type": "dense", "name": "d", "units": 2}]},  # batchnorm not after conv
        {"input": [1, 4, 4], "layers": [{"type": "residual", "body": [
            {"type": "conv2d", "name": "c", "out_channels": 2, "kernel": 3}], "shortcut": []},
            {"type": "dense", "name": "d", "units": 2}]},  # body and shortcut shapes differ
        {"input": [4], "layers": [{"type": "dense", "name": "d", "units": 2, "activation": "relu"}]},  # unknown key
    ]
    for arch in bad:
        try:
            tn.build(arch)
            raise AssertionError(f"accepted {arch}")
        except ValueError:
            pass


def test_batchnorm_eval_equals_docs_fold():
    # conv2d + batchnorm2d in eval mode equals the fold of docs/NETWORKS.md applied to the conv.
    arch = {"input": [2, 5, 5], "layers": [
        {"type": "conv2d", "name": "c", "out_channels": 3, "kernel": 3, "padding": 1},
        {"type": "batchnorm2d", "name": "bn", "eps": 1e-3},
        {"type": "flatten"}, {"type": "dense", "name": "d", "units": 2}]}
    net, w = build_loaded(arch, 6)
    s = w["bn.weight"] / torch.sqrt(w["bn.running_var"] + 1e-3)
    folded_w = s[:, None, None, None] * w["c.weight"]
    folded_b = s * (w["c.bias"] - w["bn.running_mean"]) + w["bn.bias"]
    x = torch.randn(3, 50, dtype=torch.float64)
    h = F.conv2d(x.reshape(3, 2, 5, 5), folded_w, folded_b, padding=1).reshape(3, -1)
    with torch.no_grad():
        close(net(x), h @ w["d.weight"].T + w["d.bias"], rtol=1e-12, atol=1e-13)


# --- derivatives --------------------------------------------------------------------------------------------------

def tiny_cases():
    cnn = {"input": [1, 6, 6], "layers": [
        {"type": "conv2d", "name": "features.0", "out_channels": 2, "kernel": 3},
        {"type": "relu"}, {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"}, {"type": "dense", "name": "classifier", "units": 3}]}
    return [("mlp", MLP_LEGACY, 6), ("cnn", cnn, 36), ("resnet", small_resnet(channels=1, size=4), 16)]


def test_derivatives_against_explicit_jacobian_and_finite_differences():
    lam = 0.03
    for label, arch, d in tiny_cases():
        net, w = build_loaded(arch, 7)
        g = torch.Generator().manual_seed(8)
        n = 4
        x = torch.randn(n, d, generator=g, dtype=torch.float64)
        y = torch.tensor([0, 2, 1, 2])
        v = {k: torch.randn(t.shape, generator=g, dtype=torch.float64) for k, t in net.parameter_tensors().items()}
        with tempfile.TemporaryDirectory() as tmp:
            out = derivatives_cli(arch, w, x, y, lam, v, tmp)
        f, theta, names, sizes = flat_function(net, x)
        theta = theta.clone()

        # logits and loss
        with torch.no_grad():
            z = f(theta)
            close(out["logits"], z, rtol=1e-13, atol=1e-14)
            loss = F.cross_entropy(z, y) + lam / 2 * (theta * theta).sum()
            close(out["loss"], loss.reshape(1), rtol=1e-13, atol=1e-14)

        # gradient against central differences of the loss (float64, h = 1e-6: error ~ h^2 plus rounding)
        def loss_at(t):
            with torch.no_grad():
                return float(F.cross_entropy(f(t), y) + lam / 2 * (t * t).sum())
        grad = torch.cat([out[f"grad.{k}"].reshape(-1) for k in names])
        fd = torch.empty_like(theta)
        h = 1e-6
        for j in range(theta.numel()):
            e = torch.zeros_like(theta)
            e[j] = h
            fd[j] = (loss_at(theta + e) - loss_at(theta - e)) / (2 * h)
        close(grad, fd, rtol=1e-6, atol=1e-8)

        # GGN-vector product against J^T H J v with J formed explicitly (n*C x P)
        J = torch.autograd.functional.jacobian(f, theta)  # [n, C, P]
        p = torch.softmax(z, dim=1)
        vflat = torch.cat([v[k].reshape(-1) for k in names])
        G = sum(J[i].T @ (torch.diag(p[i]) - torch.outer(p[i], p[i])) @ J[i] for i in range(n)) / n
        ggn = torch.cat([out[f"ggn_v.{k}"].reshape(-1) for k in names])
        close(ggn, G @ vflat, rtol=1e-10, atol=1e-12)

        # squared per-row CE gradients: row i's gradient is J_i^T (p_i - e_{y_i})
        sq = sum((J[i].T @ (p[i] - F.one_hot(y[i], p.shape[1]).double())) ** 2 for i in range(n))
        close(torch.cat([out[f"sqgrad.{k}"].reshape(-1) for k in names]), sq, rtol=1e-10, atol=1e-13)
        for k in names:
            for prefix in ("grad.", "ggn_v.", "sqgrad."):
                assert out[prefix + k].shape == v[k].shape, f"{label}: {prefix}{k} has the wrong shape"


def test_derivatives_rejects_batchnorm_and_missing_directions():
    arch = {"input": [1, 4, 4], "layers": [
        {"type": "conv2d", "name": "c", "out_channels": 2, "kernel": 3},
        {"type": "batchnorm2d", "name": "bn"}, {"type": "flatten"}, {"type": "dense", "name": "d", "units": 2}]}
    with tempfile.TemporaryDirectory() as tmp:
        for a, drop in ((arch, None), (MLP_LEGACY, "layers.1.bias")):
            net, w = build_loaded(a, 9)
            v = {k: torch.zeros(t.shape, dtype=torch.float64) for k, t in net.parameter_tensors().items()
                 if k != drop}
            d = math.prod(net.input_shape)
            try:
                derivatives_cli(a, w, torch.zeros(2, d, dtype=torch.float64), torch.tensor([0, 1]), 0.0, v, tmp)
                raise AssertionError("derivatives accepted a bad input")
            except AssertionError as e:
                assert "derivatives failed" in str(e), str(e)


# --- CSV subcommands -----------------------------------------------------------------------------------------

def test_logits_cli_plain_and_zst_with_mean_std():
    net, w = build_loaded(MLP_LEGACY, 10)
    g = torch.Generator().manual_seed(11)
    x = torch.randint(0, 17, (9, 6), generator=g).double()
    x[:, 2] = 5.0  # a constant feature: std stored as 1
    labels = torch.randint(0, 3, (9,), generator=g)
    mean, std = tn.fit_standardization(x)
    assert std[2] == 1.0
    with tempfile.TemporaryDirectory() as tmp:
        arch_path, w_path, csv_path = (os.path.join(tmp, n) for n in ("a.json", "w.safetensors", "rows.csv"))
        with open(arch_path, "w") as f:
            json.dump(MLP_LEGACY, f)
        save_file({**w, "input.mean": mean, "input.std": std}, w_path)
        write_csv(csv_path, x, labels)
        subprocess.run(["zstd", "-q", "-f", csv_path, "-o", csv_path + ".zst"], check=True)
        with torch.no_grad():
            expected = net((x - mean) / std)
            raw = net(x)
        for path in (csv_path, csv_path + ".zst"):
            result = json.loads(run("logits", "--architecture", arch_path, "--weights", w_path, "--csv", path,
                                    "--mean-std"))
            assert set(result) == {"logits", "predicted"}
            close(result["logits"], expected, rtol=1e-13, atol=1e-14)
            assert result["predicted"] == expected.argmax(dim=1).tolist()
        result = json.loads(run("logits", "--architecture", arch_path, "--weights", w_path, "--csv", csv_path))
        close(result["logits"], raw, rtol=1e-13, atol=1e-14)


def test_interop_model_round_trip():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "interop")
        run("interop-model", "--csv", MNIST, "--out", out, "--steps", "100", "--seed", "1")
        with open(os.path.join(out, "architecture.json")) as f:
            arch = json.load(f)
        assert arch["lambda"] == 0.0001 and arch["input"] == [1, 28, 28]
        tensors = load_file(os.path.join(out, "model.safetensors"))
        assert tensors["stem.0.weight"].dtype == torch.float32  # what a PyTorch user saves
        assert int(tensors["block.bn1.num_batches_tracked"]) == 100  # trained in train mode: statistics moved
        assert tensors["stem.1.running_mean"].abs().max() > 0 and (tensors["stem.1.running_var"] != 1).any()
        assert "block.conv1.bias" not in tensors and "stem.0.bias" in tensors
        with open(os.path.join(out, "logits.json")) as f:
            expected = json.load(f)
        assert len(expected["logits"]) == 200 and len(expected["logits"][0]) == 10

        # Loaded back from the JSON with build + load_tensors: the same logits as the PyTorch model.
        net = tn.build(arch)
        net.load_tensors(tensors)
        _, labels, x = tn.read_csv(MNIST)
        x200 = x[:200]
        with torch.no_grad():
            z = net((x200 - tensors["input.mean"]) / tensors["input.std"])
        close(z, expected["logits"], rtol=1e-12, atol=1e-12)
        assert z.argmax(dim=1).tolist() == expected["predicted"]
        # 100 Adam steps learn something: well above chance (10%) on all rows, in eval mode (running statistics).
        # (mnist5k is sorted by label, so the first 200 rows are all 0s.)
        with torch.no_grad():
            z_all = net((x - tensors["input.mean"]) / tensors["input.std"])
        accuracy = (z_all.argmax(dim=1) == labels).double().mean().item()
        assert accuracy > 0.3, accuracy

        # The logits subcommand on the same rows (a plain CSV) agrees as well.
        csv_path = os.path.join(tmp, "first200.csv")
        write_csv(csv_path, x200, labels[:200])
        result = json.loads(run("logits", "--architecture", os.path.join(out, "architecture.json"),
                                "--weights", os.path.join(out, "model.safetensors"), "--csv", csv_path,
                                "--mean-std"))
        close(result["logits"], expected["logits"], rtol=1e-12, atol=1e-12)


def test_train_speed_runs():
    with tempfile.TemporaryDirectory() as tmp:
        _, labels, x = tn.read_csv(MNIST)
        csv_path = os.path.join(tmp, "rows.csv")
        write_csv(csv_path, x[:300], labels[:300])
        arch_path = os.path.join(tmp, "a.json")
        with open(arch_path, "w") as f:
            json.dump({**DOCS_CNN, "lambda": 1e-4}, f)
        result = json.loads(run("train-speed", "--architecture", arch_path, "--csv", csv_path, "--epochs", "2",
                                "--batch-size", "32", "--threads", "1"))
        assert set(result) == {"seconds_per_epoch", "epochs", "final_train_accuracy"}
        assert result["epochs"] == 2 and result["seconds_per_epoch"] > 0
        assert 0.3 < result["final_train_accuracy"] <= 1.0, result


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
