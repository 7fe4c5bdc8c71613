"""Regenerates metric-case.json: a fixed pair of confidence samples scored by the NeurIPS 2023 unlearning
challenge's own evaluation code (google-deepmind/unlearning_evaluation, metric.py), run on the CPU.

    python3 generate.py /path/to/unlearning_evaluation/metric.py

metric.py is not part of this repository. Two local changes are needed to run it on a CPU with current numpy:
tensors' `.cuda()` is made the identity (below), and its `assert thr_eps, ...` must read `assert len(thr_eps), ...`
(numpy refuses the truth value of an array). Needs numpy and torch (Debian's python3-torch).
"""

import importlib.util
import json
import sys

import numpy as np
import torch

torch.Tensor.cuda = lambda self, *args, **kwargs: self
spec = importlib.util.spec_from_file_location("metric", sys.argv[1])
metric = importlib.util.module_from_spec(spec)
spec.loader.exec_module(metric)

rng = np.random.default_rng(20231)
K = 16
# (shift of the unlearned sample's centre, its spread relative to the retrained one's): identical, shifted,
# separated, narrower, wider and degenerate (peaky) rows.
specs = [(0.0, 1.0), (0.3, 1.0), (0.8, 1.0), (1.5, 1.0), (3.0, 1.0), (8.0, 1.0), (0.0, 0.2), (0.0, 3.0),
         (-1.0, 1.0), (0.5, 0.5), (0.0, 0.005), (2.0, 2.0)]
retrained = np.zeros((K, len(specs)))
unlearned = np.zeros((K, len(specs)))
for j, (shift, scale) in enumerate(specs):
    centre = rng.normal(1.0 + j * 0.3, 1.5)
    retrained[:, j] = centre + rng.normal(0, 1.0, K)
    unlearned[:, j] = centre + shift + scale * rng.normal(0, 1.0, K)
retrained = np.round(retrained, 6)
unlearned = np.round(unlearned, 6)

# The per-row epsilons exactly as compute_forget_score_from_confs derives them.
retrain_is_positive = np.median(retrained, axis=0) > np.median(unlearned, axis=0)
positive = np.where(retrain_is_positive, retrained, unlearned)
negative = np.where(retrain_is_positive, unlearned, retrained)
epsilons = metric._get_epsilons(positive, negative, delta=metric.DELTA)
score = metric.compute_forget_score_from_confs(unlearned.copy(), retrained.copy())
json.dump(
    {"source": "google-deepmind/unlearning_evaluation metric.py on the CPU (torch 1.13), by generate.py",
     "models": K, "unlearned": unlearned.tolist(), "retrained": retrained.tolist(),
     "epsilons": [float(e) for e in epsilons], "score": float(score)},
    open("metric-case.json", "w"), indent=1)
print(epsilons, score)
