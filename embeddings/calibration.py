"""Search settings that depend on the encoder's cosine scale, stored per model.

Cosines differ between encoders (USE's related passages sit near 0.3-0.5, e5's near
0.8-0.9), so the abstention thresholds and the weights that choose the answering sentence are
calibrated per model (``benchmarks/fit_choice.py``, ``benchmarks/fit_refusal.py``: fitted with
cross-validation across CMRC 2018 trial and DRCD dev) and kept here, not as shared constants.
A model without an entry (a sentence-transformers folder, say) gets the defaults of
:class:`~newsbot.embeddings.search.SearchSettings`.
"""

from __future__ import annotations

from .encoders import DEFAULT_MODEL, E5_MODEL

CALIBRATION: dict[str, dict] = {
    DEFAULT_MODEL: {
        # benchmarks/fit_choice.py: choice 0.792 -> 0.855 (CMRC), 0.858 -> 0.858 (DRCD); fitted on
        # CMRC alone: DRCD 0.860; on DRCD alone: CMRC 0.830.
        "choice": {"lexical": 1.125, "focus": 1.769, "atype": 1.297, "dense": 1.314, "chunk": 1.308, "lead": 0.176},
    },
    E5_MODEL: {},
}


def overrides(model: str) -> dict:
    """SearchSettings fields to override for ``model`` (dicts of weights become item tuples)."""
    out = {}
    for key, value in CALIBRATION.get(model, {}).items():
        out[key] = tuple(value.items()) if isinstance(value, dict) else value
    return out
