"""Word tokens for BM25 and for choosing the excerpt: jieba's search-engine mode, lower-cased."""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from functools import lru_cache

from .hanzi import to_simplified

_WORD = re.compile(r"\w", re.UNICODE)

# Question words and particles: they carry no topic, so they must neither match passages nor
# count as evidence that a passage answers.
STOPWORDS = frozenset(
    """
    的 了 是 在 和 与 及 或 把 被 对 向 从 为 以 于 将 也 都 还 又 就 才 而 并 且 之 其 这 那 这个 那个 这些 那些
    什么 什么样 甚么 啥 哪 哪个 哪些 哪里 哪儿 哪家 哪位 哪一 哪天 哪年 哪种 谁 谁的 多少 几 几个 几名 几次 几年 多 多久 多长
    怎么 怎样 怎么样 如何 为何 为什么 吗 呢 吧 啊 呀 么 有 有没有 没有 是否 是不是 能 能否 可以 会 要 请问 一下 一个
    我 你 他 她 它 我们 你们 他们 她们 它们 自己 该 此 个 些 中 上 下 里 内 外 时 后 前 年 月 日 号 去 来 到 给 让 由 所 等
    a an the of in on at to for from by with about as is are was were be been being do does did done what which who
    whom whose when where why how much many that this these those it its and or not no yes can could would should
    will shall may might there their they them he she his her i you we our your me my
    什麼 什麼樣 甚麼 以什麼 哪個 哪裡 哪兒 哪種 哪一個 哪一年 哪一天 哪一位 哪一種 誰 誰的 幾 幾個 幾名 幾次 幾年 多長 多久
    怎麼 怎樣 怎麼樣 為何 為什麼 嗎 這 這個 那個 這些 那些 這一 這一個 與 對 從 為 於 將 還 並 們 我們 你們 他們 她們 它們
    個 時 後 來 給 讓 會 請問 一下 沒有 有沒有 是不是 能否 何 何時 何種 何者 何處 何地 有何 為何 一個 是何 於何
    """.split()
)


@lru_cache(maxsize=1)
def _jieba():
    # Imported here: building jieba's prefix dictionary costs ~0.5 s; commands that never
    # tokenise (help, config) should not pay for it.
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _keep(tok: str) -> bool:
    return bool(tok.strip()) and bool(_WORD.search(tok))


# A Chinese character (CJK unified ideographs, extension A, compatibility ideographs).
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_HAN_WORD = re.compile(HAN.pattern + "+")


def tokenize(text: str) -> list[str]:
    """All word tokens of ``text`` (punctuation and spaces dropped).

    Search mode gives a long dictionary word's shorter dictionary words too. jieba's HMM glues a
    name it does not know to its neighbours (狄托雪恥, 令狄托, 當狄托; Traditional text, whose
    words its Simplified dictionary lacks, most of all), so a word of three or more Chinese
    characters that is not in the dictionary also gives its character pairs: 狄托 then matches
    wherever it was glued, in a question as in an article.

    Traditional text is cut where its Simplified reading (:mod:`.hanzi`, character by character)
    is cut, and the tokens keep the text's own characters: 為什麼 / 狄托 / 過世 rather than
    為什 / 麼 / 狄托過. Which script a token is in is unchanged (Simplified reading across scripts
    measured: a Traditional index then quotes an unrelated article for far more Simplified
    questions it cannot answer); a question typed in the other script than its index's is
    rewritten into the index's before it is cut (:mod:`.script`)."""
    text = unicodedata.normalize("NFKC", text).lower()
    folded = to_simplified(text)  # same length: positions carry over
    jieba = _jieba()
    known = jieba.dt.FREQ
    out = []
    for word, start, end in jieba.tokenize(folded, mode="search"):
        if not _keep(word):
            continue
        t = text[start:end]
        out.append(t)
        if len(word) >= 3 and not known.get(word) and _HAN_WORD.fullmatch(word):
            out.extend(t[i : i + 2] for i in range(len(word) - 1) if not known.get(word[i : i + 2]))
    return out


def query_terms(text: str) -> list[str]:
    """Tokens of a question, stop words dropped; falls back to all tokens if none remain."""
    toks = tokenize(text)
    kept = [t for t in toks if t not in STOPWORDS and to_simplified(t) not in STOPWORDS]
    return kept or toks


PARALLEL_MIN_TEXTS = 20_000  # below this, a process pool costs more than it saves
BATCHES_PER_WORKER = 4  # smaller batches even out the workers' loads


def _tokenize_batch(texts: list[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


def tokenize_many(texts: list[str]) -> list[list[str]]:
    """``tokenize`` over many texts, in one process per core when there are many (jieba is pure
    Python: at 100k chunks tokenising is most of an index build's time outside the encoder)."""
    workers = os.cpu_count() or 1
    if len(texts) < PARALLEL_MIN_TEXTS or workers < 2:
        return _tokenize_batch(texts)
    import multiprocessing

    _jieba()  # loaded once here, inherited by the forked workers
    step = -(-len(texts) // (workers * BATCHES_PER_WORKER))
    batches = [texts[i : i + step] for i in range(0, len(texts), step)]
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_tokenize_batch, batches)
    except (OSError, ValueError):  # no fork on this platform, or no processes allowed
        return _tokenize_batch(texts)
    return [toks for part in parts for toks in part]
