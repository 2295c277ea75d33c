"""The sentence-choice tree model: newsbot's numpy evaluator against scikit-learn (the oracle),
the file checks, the shipped model, and the fallback when a model file is damaged."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from newsbot.embeddings import choose, trees
from newsbot.embeddings.search import SearchSettings

sklearn_ensemble = pytest.importorskip("sklearn.ensemble", reason="scikit-learn (a sentence-transformers dependency) is the oracle")


def _fitted(rng, depth=3, n=150):
    X = rng.normal(size=(600, 5))
    y = ((X[:, 0] > 0.3) ^ (X[:, 2] * X[:, 3] > 0.1)).astype(int)
    return X, sklearn_ensemble.HistGradientBoostingClassifier(max_depth=depth, max_iter=n, learning_rate=0.1, random_state=0).fit(X, y)


@pytest.mark.parametrize("depth", [1, 3, 5])
def test_predict_matches_scikit_learn(depth):
    rng = np.random.default_rng(depth)
    X, model = _fitted(rng, depth=depth)
    ours = trees.from_dict(json.loads(json.dumps(trees.from_sklearn(model, list("abcde")))))
    probe = np.r_[X, rng.normal(size=(200, 5)) * 3]
    assert np.allclose(trees.predict(ours, probe), model.decision_function(probe))
    # thresholds are inclusive on the left, as in scikit-learn
    node = int(np.flatnonzero(ours.feature >= 0)[0])
    at = np.zeros((1, 5))
    at[0, ours.feature[node]] = ours.threshold[node]
    assert np.allclose(trees.predict(ours, at), model.decision_function(at))


def test_malformed_models_are_refused():
    good = {"format": trees.FORMAT, "names": ["a"], "baseline": 0.0,
            "trees": [{"feature": [0, -1, -1], "threshold": [0.5, 0, 0], "left": [1, 0, 0], "right": [2, 0, 0], "value": [0, -1, 1]}]}
    m = trees.from_dict(good)
    assert trees.predict(m, np.array([[0.0], [0.5], [0.6]])).tolist() == [-1.0, -1.0, 1.0]
    with pytest.raises(ValueError):
        trees.predict(m, np.zeros((1, 2)))  # wrong number of columns
    for broken in (
        {**good, "format": "pickle"},
        {**good, "names": []},  # the node tests a column the model lacks
        {**good, "trees": [{**good["trees"][0], "left": [0, 0, 0]}]},  # a loop back to the root
        {**good, "trees": [{**good["trees"][0], "value": [0]}]},  # arrays of different lengths
        {k: v for k, v in good.items() if k != "baseline"},
    ):
        with pytest.raises(trees.TreesError):
            trees.from_dict(broken)


def test_the_shipped_model_reads_the_choice_features():
    name = SearchSettings.for_model("use-multilingual-v3").choice_trees
    model = trees.packaged(name)
    assert model.names == choose.DESIGN
    used = choose.needed({}, model)
    assert "lexical" in used and "dense" not in used  # sentences are not encoded for it
    feats = np.zeros((3, len(choose.FEATURES)), np.float32)
    feats[1, choose.FEATURES.index("lexical")] = 2.0
    feats[1, choose.FEATURES.index("focus")] = 2.0
    assert choose.choose_two(feats, {"lexical": 1.0}, 0.0, model)[0] == 1


def test_a_damaged_model_file_falls_back_to_the_weights(sample_index, encoder, caplog):
    from dataclasses import replace

    from newsbot.embeddings.index import Index
    from newsbot.embeddings.search import Retriever

    index = Index.load(sample_index)
    r = Retriever(index, encoder=encoder)
    expected = Retriever(index, encoder=encoder, settings=replace(r.settings, choice_trees="")).ask("甬江街道有多少家企业?")
    r.settings = replace(r.settings, choice_trees="no-such-model.json")
    with caplog.at_level(logging.WARNING):
        a = r.ask("甬江街道有多少家企业?")
        r.ask("甬江街道有多少家企业?")
    assert a.answered and a.hits[0].highlight == expected.hits[0].highlight
    assert sum("no-such-model.json" in m for m in caplog.messages) == 1  # reported once


def test_a_model_for_other_columns_is_not_used(monkeypatch, caplog):
    other = trees.from_dict({"format": trees.FORMAT, "names": ["a"], "baseline": 0.0,
                             "trees": [{"feature": [-1], "threshold": [0], "left": [0], "right": [0], "value": [0]}]})
    monkeypatch.setattr(trees, "packaged", lambda name: other)
    with caplog.at_level(logging.WARNING):
        assert choose.tree_model("other-columns.json") is None
    assert any("other-columns.json" in m for m in caplog.messages)
