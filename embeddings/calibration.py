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

# Choosing the answering sentence (benchmarks/fit_choice.py, USE indexes; the features do not
# use the encoder): the right sentence among the rank-1 hit's candidates 0.792 -> 0.856 (CMRC
# trial), 0.858 -> 0.858 (DRCD dev); fitted on CMRC alone it gives DRCD 0.859, on DRCD alone
# CMRC 0.845. The sentences' cosine with the question added nothing (0.855, 0.858) for the cost
# of encoding them, so it is left out.
CHOICE = {"lexical": 1.349, "focus": 1.894, "atype": 1.302, "dense": 0.0, "chunk": 1.377, "lead": 0.223}

CALIBRATION: dict[str, dict] = {
    DEFAULT_MODEL: {
        "choice": CHOICE,
    },
    E5_MODEL: {
        "choice": CHOICE,
    },
}


def overrides(model: str) -> dict:
    """SearchSettings fields to override for ``model`` (dicts of weights become item tuples)."""
    out = {}
    for key, value in CALIBRATION.get(model, {}).items():
        out[key] = tuple(value.items()) if isinstance(value, dict) else value
    return out
