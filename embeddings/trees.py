"""A boosted tree ensemble, evaluated with numpy: the sentence-choice model's runtime half.

The model is fitted offline (``benchmarks/fit_choice.py --trees``, scikit-learn's
``HistGradientBoostingClassifier``) and shipped as a JSON file of arrays (data, never code):
per tree, each node's feature (-1 for a leaf), threshold, left and right child and value.
A row goes left when its feature is ``<=`` the threshold, as in scikit-learn; the score is the
baseline plus each tree's leaf value (log-odds). Pure functions; the file is read once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np

FORMAT = "newsbot-trees/1"


class Trees(NamedTuple):
    """Every tree's nodes side by side: node ``roots[t]`` is tree ``t``'s root."""

    names: tuple[str, ...]  # the columns a row must have, in order
    baseline: float
    roots: np.ndarray  # int64, one per tree
    feature: np.ndarray  # int64 per node, -1 at a leaf
    threshold: np.ndarray  # float64 per node
    left: np.ndarray  # int64 per node (global index)
    right: np.ndarray  # int64 per node
    value: np.ndarray  # float64 per node (used at leaves)
    depth: int  # the deepest path, in edges


class TreesError(ValueError):
    """A tree file that is not a well-formed model."""


def from_dict(data: dict) -> Trees:
    """Check and pack a model read from JSON (see :func:`to_dict`)."""
    try:
        if data.get("format") != FORMAT:
            raise TreesError(f"not a {FORMAT} file")
        names = tuple(str(n) for n in data["names"])
        roots, feature, threshold, left, right, value = [], [], [], [], [], []
        for tree in data["trees"]:
            base = len(feature)
            f = [int(x) for x in tree["feature"]]
            n = len(f)
            if not n or not (len(tree["threshold"]) == len(tree["left"]) == len(tree["right"]) == len(tree["value"]) == n):
                raise TreesError("a tree's arrays differ in length")
            for i in range(n):
                if f[i] >= len(names) or f[i] < -1:
                    raise TreesError(f"a node tests column {f[i]}, the model has {len(names)}")
                if f[i] >= 0 and not (i < int(tree["left"][i]) < n and i < int(tree["right"][i]) < n):
                    raise TreesError("a node's children must come after it in its tree")
            roots.append(base)
            feature += f
            threshold += [float(x) for x in tree["threshold"]]
            left += [base + int(x) for x in tree["left"]]
            right += [base + int(x) for x in tree["right"]]
            value += [float(x) for x in tree["value"]]
        baseline = float(data["baseline"])
    except (KeyError, TypeError, ValueError) as e:
        raise TreesError(f"malformed tree model: {e}") from None
    feature_a = np.array(feature, np.int64)
    left_a, right_a = np.array(left, np.int64), np.array(right, np.int64)
    return Trees(names, baseline, np.array(roots, np.int64), feature_a, np.array(threshold, np.float64),
                 left_a, right_a, np.array(value, np.float64), _depth(roots, feature_a, left_a, right_a))


def _depth(roots, feature, left, right) -> int:
    deepest = 0
    for r in roots:
        stack = [(int(r), 0)]
        while stack:
            node, d = stack.pop()
            deepest = max(deepest, d)
            if feature[node] >= 0:
                stack += [(int(left[node]), d + 1), (int(right[node]), d + 1)]
    return deepest


def to_dict(names, baseline: float, trees: list[dict]) -> dict:
    """The JSON form: ``trees`` are dicts of per-node lists (children as indices within the tree)."""
    return {"format": FORMAT, "names": list(names), "baseline": float(baseline), "trees": trees}


def from_sklearn(model, names) -> dict:
    """The JSON form of a fitted binary ``HistGradientBoostingClassifier`` (numerical splits
    only). Reads its attributes; scikit-learn itself is not imported here."""
    out = []
    for (predictor,) in model._predictors:  # binary: one tree per iteration
        nodes = predictor.nodes
        if nodes["is_categorical"].any():
            raise TreesError("categorical splits are not supported")
        leaf = nodes["is_leaf"].astype(bool)
        out.append({"feature": np.where(leaf, -1, nodes["feature_idx"]).astype(int).tolist(),
                    "threshold": np.where(leaf, 0.0, nodes["num_threshold"]).astype(float).tolist(),
                    "left": np.where(leaf, 0, nodes["left"]).astype(int).tolist(),
                    "right": np.where(leaf, 0, nodes["right"]).astype(int).tolist(),
                    "value": nodes["value"].astype(float).tolist()})
    return to_dict(names, float(np.ravel(model._baseline_prediction)[0]), out)


def predict(model: Trees, X: np.ndarray) -> np.ndarray:
    """Raw scores (log-odds) of the rows of ``X`` (columns: ``model.names``)."""
    X = np.asarray(X, np.float64)
    if X.ndim != 2 or X.shape[1] != len(model.names):
        raise ValueError(f"expected rows of {len(model.names)} columns, got shape {X.shape}")
    rows = np.arange(len(X))
    node = np.repeat(model.roots[None, :], len(X), axis=0)  # (rows, trees)
    for _ in range(model.depth):
        f = model.feature[node]
        inner = f >= 0
        x = X[rows[:, None], np.where(inner, f, 0)]
        go_left = x <= model.threshold[node]
        node = np.where(inner, np.where(go_left, model.left[node], model.right[node]), node)
    return model.baseline + model.value[node].sum(axis=1)


@lru_cache(maxsize=4)
def packaged(name: str) -> Trees:
    """A model shipped in ``embeddings/data`` (read once)."""
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    return from_dict(json.loads(text))
