"""Choose the answering sentence among a hit's matched sentences from their features: by boosted
trees (:mod:`.trees`) where the encoder has them, else by a weighted sum.

* ``lexical``: the question's words and bigrams in the sentence (:func:`excerpt.score_sentences`,
  global IDF × rarity among the article's sentences);
* ``focus``: the same without the words of the article's headline and its character bigrams
  (纽西兰鸡毛松: 毛松 too, though jieba cuts 鸡毛 / 松): a question names its subject
  ("大果西番莲的根部有什么作用?") and the sentence that answers it is the one about the rest
  (根部), not the article's opening line that names the subject;
* ``atype``: the sentence holds a word of the kind the question asks for (:mod:`.answertype`);
* ``dense``: cosine of question and sentence (the encoder's; cross-lingual);
* ``chunk``: the fused score of the best chunk holding the sentence (relative, in [-1, 0]);
* ``lead``: the article's first sentence (definitions: "什么是X?");
* ``near``: the words beside the question's question word found in the sentence (:mod:`.cues`);
* ``define``: for "什么是X?", the sentence opens with X and says what it is (:mod:`.cues`).

The weights and the tree model are per encoder (``calibration.py``), fitted with
cross-validation across CMRC 2018 trial and DRCD dev (``benchmarks/fit_choice.py [--trees]``).
"""

from __future__ import annotations

import logging
from typing import Callable, Sequence

import numpy as np

from . import answertype, cues, trees
from .excerpt import char_ngrams, score_sentences
from .tokenize import STOPWORDS, tokenize

FEATURES = ("lexical", "focus", "atype", "dense", "chunk", "lead", "near", "define")
DEFAULT_WEIGHTS = {"lexical": 1.0, "focus": 0.0, "atype": 0.0, "dense": 0.0, "chunk": 0.15, "lead": 0.0, "near": 0.0, "define": 0.0}

log = logging.getLogger(__name__)
_BROKEN: set[str] = set()  # tree model files that could not be read (reported once)

# Analysis hook (benchmarks/fit_choice.py): when a list, each choice appends its features.
RECORD: list | None = None


def headline_terms(headline: str) -> frozenset[str]:
    """What ``focus`` leaves out: the headline's words and its character bigrams, across words
    too (纽西兰鸡毛松 gives 毛松, though jieba cuts 鸡毛 / 松)."""
    return (frozenset(tokenize(headline)) | char_ngrams(headline)) - STOPWORDS


def features(
    question: str,
    weights: dict[str, float],
    grams: set[str],
    title_terms: set[str],
    texts: Sequence[str],
    tokens: Sequence[frozenset[str]],
    sentence_grams: Sequence[frozenset[str]],
    candidates: Sequence[int],
    lexical: Sequence[float],
    chunk: Sequence[float],
    dense: Callable[[], np.ndarray] | None,
    need: set[str],
) -> np.ndarray:
    """Rows: ``candidates`` (indices into the article's sentences); columns: :data:`FEATURES`."""
    out = np.zeros((len(candidates), len(FEATURES)), np.float32)
    out[:, 0] = [lexical[i] for i in candidates]
    if "focus" in need:
        title_grams = set().union(*(char_ngrams(t) for t in title_terms)) if title_terms else set()
        fw = {t: w for t, w in weights.items() if t not in title_terms}
        fg = {g for g in grams if g not in title_grams}
        if fw or fg:
            focus = score_sentences(fw, fg, list(tokens), list(sentence_grams))
            out[:, 1] = [focus[i] for i in candidates]
        else:
            out[:, 1] = out[:, 0]
    if "atype" in need:
        kind = answertype.question_type(question)
        if kind is not None:
            out[:, 2] = [answertype.matches(kind, texts[i], question) for i in candidates]
    if "dense" in need and dense is not None:
        sims = dense()
        out[:, 3] = [sims[i] for i in candidates]
    out[:, 4] = [chunk[i] for i in candidates]
    out[:, 5] = [1.0 if i == 0 else 0.0 for i in candidates]
    if "near" in need:
        out[:, 6] = [cues.near(question, weights, texts[i], tokens[i]) for i in candidates]
    asks = cues.asks_definition(question)  # then choose_two prefers the sentence defining X itself
    if "define" in need or asks:
        subject = cues.defined(question)
        if subject:  # exactly, for 什么是X? (牛车水（；）是… does not define 牛车水事件); the looser match changed no tree choice
            out[:, 7] = [cues.defines(subject, texts[i], exact=asks) for i in candidates]
    return out


# The tree model's columns (:func:`design`): each feature, and its distance to the best value any
# candidate of the question has (a linear score cannot use that: it is the same shift for all).
DESIGN = FEATURES + tuple(f"{f}_gap" for f in FEATURES)
_DEFINE, _ATYPE = FEATURES.index("define"), FEATURES.index("atype")


def design(feats: np.ndarray) -> np.ndarray:
    """Rows of :data:`DESIGN` for one question's candidates (``feats``: rows of :data:`FEATURES`)."""
    f = np.asarray(feats, np.float64)
    return np.concatenate([f, f - f.max(axis=0, keepdims=True)], axis=1) if len(f) else np.zeros((0, len(DESIGN)))


def choose_two(feats: np.ndarray, weights: dict[str, float], tie: float, model: trees.Trees | None = None,
               question: str = "") -> tuple[int, int | None, float]:
    """The best row, the runner-up when its score is within ``log(tie)`` of the best (its
    softmax probability at least ``tie`` times the best's) else None, and the best linear score.
    With a tree ``model`` (:data:`DESIGN` columns) its log-odds rank the rows instead. A
    "什么是X?" ``question`` (:func:`cues.asks_definition`) is answered by the best row that
    defines X, when one does (measured on the rank-1 hits of CMRC trial and DRCD dev: that
    sentence held the answer for 12 of 12 such questions, the trees' choice for 10). A question
    that only a number in a named unit (多长, 面积) or a year (哪一年) answers
    (:func:`answertype.asks_exactly`) is answered by the best row holding one, when the best row
    holds none and another does (``benchmarks/precision.py`` at the defaults: DRCD dev
    highlight@1 0.9027 -> 0.9041, hit@1 one question fewer, CMRC trial unchanged)."""
    w = np.array([weights.get(f, 0.0) for f in FEATURES], np.float32)
    linear = feats @ w
    s = trees.predict(model, design(feats)) if model is not None and len(feats) else linear
    order = np.argsort(-s, kind="stable")
    best = int(order[0])
    value = float(linear.max()) if len(linear) else 0.0  # what rerank.py weighs, whichever model chose
    if question and len(linear) and answertype.question_type(question) in answertype.WITHIN_ARTICLE:
        value = float((linear - feats[:, _ATYPE] * w[_ATYPE]).max())
    defining = [int(i) for i in order if feats[i, _DEFINE] > 0] if question and cues.asks_definition(question) else []
    if defining:
        return defining[0], None, value
    if question and feats[best, _ATYPE] <= 0 and answertype.asks_exactly(question):
        holding = [int(i) for i in order if feats[i, _ATYPE] > 0]
        if holding:  # "长城有多长?": the best row holding a length, not 大修长城有五次
            return holding[0], None, value
    if tie <= 0 or len(order) < 2 or s[order[1]] - s[best] < np.log(tie):
        return best, None, value
    return best, int(order[1]), value


def says_nothing_asked(row: np.ndarray, need: set[str]) -> bool:
    """A chosen sentence (``row`` of :data:`FEATURES`) that holds no word of the question beyond
    the headline's and does not define its subject: it names the subject and says nothing the
    question asks, so the answer is likely in the sentence after it, which is marked with it."""
    return "focus" in need and row[FEATURES.index("focus")] <= 0 and row[FEATURES.index("define")] <= 0


def needed(weights: dict[str, float], model: trees.Trees | None = None) -> set[str]:
    """The features to compute: those weighed, or those the tree ``model`` splits on."""
    needs = {f for f, w in weights.items() if w}
    if model is not None:
        used = {model.names[i] for i in np.unique(model.feature[model.feature >= 0])}
        needs = {f for f in FEATURES if f in used or f"{f}_gap" in used}
    if RECORD is not None:
        needs = set(FEATURES)
    return needs


def tree_model(name: str) -> trees.Trees | None:
    """The tree model shipped as ``name`` (``SearchSettings.choice_trees``), or None: then the
    weights choose. A damaged file is reported once and the weights used: the answer must not fail for it."""
    if not name or name in _BROKEN:
        return None
    try:
        model = trees.packaged(name)
        if model.names != DESIGN:
            raise trees.TreesError(f"its columns are not {len(DESIGN)} choice features")
        return model
    except (OSError, ValueError) as e:
        _BROKEN.add(name)
        log.warning("The sentence-choice model %s could not be read (%s); choosing by weights instead. Reinstall newsbot to restore it.", name, e)
        return None
