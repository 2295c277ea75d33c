"""Hybrid retrieval: BM25 + dense scores fused, passages merged, excerpts cut, weak evidence refused."""

from __future__ import annotations

import heapq
import os
import threading
from collections.abc import Collection
from dataclasses import replace
from typing import NamedTuple

import numpy as np

from . import answer_scorer, answertype, choose, headline, highlight, name_conflict, offtopic, plausible, refusal, rerank, script
from .chunking import Unit
from .encoders import Encoder, encode_query, load_encoder
from .errors import UsageError
from .excerpt import build_excerpt, char_ngrams, idf, query_grams, score_sentences
from .fusion import Candidate, fuse_candidates, merge_runs, top_n
from .index import open_store
from .settings import SearchSettings
from .store import Store, Target
from .tokenize import HAN, query_terms, tokenize
from .types import Answer, Evidence, Hit
from .util import LRU, scrub_surrogates, searched_text

MAX_QUESTION_CHARS = 2000
DENSE_SAMPLE = 4096  # vectors whose scores give the dense mean and spread for each question
SCORE_DIGITS = 4  # scores and evidence are reported rounded to this many decimals
# Sentences, tokens and bigrams of recently cited articles (~100 KB each), and the vectors of
# recently cited sentence ranges: bounded so a long-running bot's memory stays flat.
ARTICLE_CACHE = 512
SENTENCE_VECTOR_CACHE = 256

class Candidates(NamedTuple):
    """What :meth:`Retriever.candidates` found: parallel arrays over the candidate passages."""

    ids: np.ndarray  # passage ids, ascending
    fused: np.ndarray
    bm25: np.ndarray
    dense: np.ndarray
    best_dense: float  # the best dense cosine of any passage
    query_vector: np.ndarray


class CitedHit(NamedTuple):
    """One hit built from a group of chunks, and what building it used."""

    hit: Hit
    coverage: float  # share of the question's information (IDF mass) in the matched chunks
    used: set[int]  # the article's units the excerpt shows
    rest: float | None  # score of the matched units left out, to compete for a later rank
    choice: float = 0.0  # the chosen sentence's score (choose.py), for rerank.py
    best_chunk: float = 0.0  # the best fused score of its chunks
    members: tuple = ()  # the chunk group it was built from (fusion.Candidate), to compete again


class _Results:
    """Results in score order, built one at a time. Each group of neighbouring chunks yields a
    hit; a hit that is kept marks its sentences shown (no sentence is shown twice) and, when its
    excerpt could not show all of its matched sentences, the rest competes again (by its best
    chunk's score) for a later rank. A hit passed over (implausible) leaves both alone."""

    def __init__(self, retriever: Retriever, queue: list, weights, grams, fused, qvec, question: str, searched=None):
        self.r, self.queue, self.args = retriever, queue, (weights, grams, fused)
        self.qvec, self.question, self.searched = qvec, question, searched
        heapq.heapify(queue)
        self.shown: dict[int, set[int]] = {}
        self.tie, self.count = len(queue), 0

    def next(self) -> CitedHit | None:
        while self.queue:
            _neg, _n, members = heapq.heappop(self.queue)
            weights, grams, fused = self.args
            made = self.r._hit(self.count + 1, members, weights, grams, fused, self.shown.setdefault(members[0].article, set()),
                               self.qvec, question=self.question, searched=self.searched)
            if made is not None:
                self.count += 1
                return made
        return None

    def keep(self, made: CitedHit) -> CitedHit:
        self.shown[made.hit.article].update(made.used)
        if made.rest is not None:
            heapq.heappush(self.queue, (-made.rest, self.tie, list(made.members)))
            self.tie += 1
        return made


class ArticleUnits(NamedTuple):
    """What choosing sentences needs of one cited article."""

    units: list[Unit]
    tokens: list[frozenset[str]]  # jieba tokens of each unit
    grams: list[frozenset[str]]  # character bigrams of each unit


class Retriever:
    """Searches one loaded index (a :class:`.store.Store`: a folder or a Milvus collection) with its encoder. Thread-safe for concurrent ``ask``."""

    def __init__(self, index: Store, encoder: Encoder | None = None, settings: SearchSettings | None = None, *, model: str | None = None):
        """``model``: the encoder the user named (``--model``). The index's own model is loaded
        without it only when it is the default or a local folder (see :func:`load_encoder`)."""
        self.index = index
        self._named_model = model
        self.settings = settings or SearchSettings.for_model(index.model)
        self._encoder = encoder
        self._lock = threading.Lock()
        self._sample = None
        self._offtopic: float | None = None
        self._rewriter = script.Rewriter(index.df)  # reads the index's vocabulary on first use
        self._articles: LRU[ArticleUnits] = LRU(ARTICLE_CACHE)
        self._sentence_vecs: LRU[np.ndarray] = LRU(SENTENCE_VECTOR_CACHE)
        self._bags: LRU[tuple] = LRU(ARTICLE_CACHE)  # refusal's view of whole articles
        self._headline_alone: LRU[bool] = LRU(ARTICLE_CACHE)  # no other article uses its headline (headline.py)
        self._passages_of: dict[int, list[int]] | None = None  # article id -> its passage ids (searches within articles)
        # One question at a time: FAISS's OpenMP threads only spin against numpy's BLAS threads
        # (measured on a 10k flat index: p50 8 ms with the default threads, 0.9 ms with one).
        import faiss

        faiss.omp_set_num_threads(1)

    @classmethod
    def load(cls, where: str | os.PathLike | Target, model: str | None = None, settings: SearchSettings | None = None) -> Retriever:
        """A retriever over the index in a folder, or wherever ``where`` (a :class:`.store.Target`) says."""
        return cls(open_store(where, model=model), settings=settings, model=model)

    @property
    def encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = load_encoder(self.index.model, named=self._named_model is not None)
            return self._encoder

    def warm_up(self) -> None:
        """Load the encoder, tokenizer, script rewriter and answer scorer now, not on the first question; measure :mod:`.offtopic`'s bar."""
        self.encoder.encode(["warm up"])
        tokenize("预热")
        answertype.warm_up()  # jieba's part-of-speech tables (~0.7 s), else on the first "谁" question
        _ = self._rewriter.script  # the index's vocabulary read now
        if self.settings.offtopic_floor:
            self._offtopic_floor()
        if self.settings.answer_check:
            answer_scorer.shared()  # ~1.5 s once per process, else on the first unsure answer

    # -- scoring -----------------------------------------------------------------------------

    def _dense_sample(self) -> np.ndarray:
        """A fixed, evenly spaced sample of vectors: the dense score statistics per question."""
        if self._sample is None:
            self._sample = self.index.sample(DENSE_SAMPLE)
        return self._sample

    def _offtopic_floor(self) -> float:
        """:func:`offtopic.floor` of this index (computed on the first question that needs it)."""
        if self._offtopic is None:
            vecs = encode_query(self.encoder, list(offtopic.QUESTIONS))
            self._offtopic = offtopic.floor(vecs, self._dense_batch) if self.index.size else 0.0
        return self._offtopic

    def _dense_batch(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS-style ``search``: (scores, ids) arrays, one row per query."""
        rows = [self.index.dense_search(q, k) for q in queries]
        ids = np.full((len(rows), k), -1, np.int64)
        dist = np.full((len(rows), k), -np.inf, np.float32)
        for r, (i, d) in enumerate(rows):
            ids[r, : len(i)], dist[r, : len(d)] = i, d
        return dist, ids

    def _idf(self, term: str) -> float:
        return idf(int(self.index.df.get(term, 0)), self.index.n_docs)

    def candidates(self, query: str, terms: list[str], n: int, within: Collection[int] | None = None) -> Candidates:
        """The search proper, fit for large indexes: BM25's top ``n`` and the dense top ``n``,
        each scored both ways and fused with whole-collection statistics. ``within`` (article ids):
        every passage of those articles is a candidate, and no other."""
        q = encode_query(self.encoder, [query])[0]
        k = min(n, self.index.size)
        if k == 0:
            empty = np.zeros(0, np.float32)
            return Candidates(np.zeros(0, np.int64), empty, empty, empty, 0.0, q)
        lexical = self.index.lexical(terms, query, k)
        if within is None:
            dense_ids, top = self.index.dense_search(q, k)
            cand = np.unique(np.concatenate([dense_ids, lexical.top]).astype(np.int64))
        else:
            cand, top = self.passages_of(within), None
        dense = self.index.vectors(cand) @ q if cand.size else np.zeros(0, np.float32)
        bm25 = lexical.scores(cand)
        sample = self._dense_sample() @ q
        fused = fuse_candidates(bm25, dense, (lexical.mean, lexical.std), (float(sample.mean()), float(sample.std())), self.settings.bm25_weight)
        best_dense = float(max(dense if top is None else top, default=0.0))  # within articles: the best of theirs
        return Candidates(cand, fused, bm25, dense, best_dense, q)

    def passages_of(self, articles: Collection[int]) -> np.ndarray:
        """The passage ids of ``articles`` (article ids; unknown ones ignored), ascending."""
        if self._passages_of is None:  # once (two threads may both build it: the same map)
            by_article: dict[int, list[int]] = {}
            for p in self.index.passages:
                by_article.setdefault(p.article, []).append(p.id)
            self._passages_of = by_article
        return np.array(sorted(i for a in set(articles) for i in self._passages_of.get(int(a), ())), dtype=np.int64)

    # -- answering ---------------------------------------------------------------------------

    def _article_units(self, article: int) -> ArticleUnits:
        """Sentences, tokens and bigrams of an article (cached per instance)."""
        return self._articles.get(article, lambda: self._make_article_units(article))

    def _make_article_units(self, article: int) -> ArticleUnits:
        units, tokens = self.index.sentences(article)  # as chunked when the index was built
        return ArticleUnits(units, [frozenset(t) for t in tokens], [frozenset(char_ngrams(u.text)) for u in units])

    def ask(self, query: str, k: int = 5, *, trim: bool = True, within: Collection[int] | None = None, focus: str | None = None,
            abstain: bool = True) -> Answer:
        """Answer ``query`` with up to ``k`` cited excerpts, or refuse when evidence is weak.

        ``trim`` drops trailing results far weaker than the first (``min_relative``); paging
        front ends ("more results") pass ``trim=False``. For follow-ups (:mod:`.followup`): ``within``
        searches only those articles (ids); ``focus``, the question the answering sentence is chosen
        for when ``query`` adds words to it (whether to answer is judged on ``query``);
        ``abstain=False`` answers with what was found however weak the evidence."""
        if not isinstance(query, str):
            raise UsageError("The question must be text.")
        query = scrub_surrogates(query)  # lone surrogates (possible in a str) cannot be printed or sent
        clean = searched_text(query)
        if len(clean) > MAX_QUESTION_CHARS:
            raise UsageError(f"The question is {len(clean)} characters long; ask in at most {MAX_QUESTION_CHARS}.")
        if not any(ch.isalnum() for ch in clean):
            return Answer(query, False, (), "The question has no words to search for.")
        asked = searched_text(scrub_surrogates(focus)) if focus and any(ch.isalnum() for ch in focus) else clean
        margin = self.settings.strictness  # what the refusal weights must clear
        if self.settings.other_script_margin is not None and (again := self._rewriter(clean)) is not None:
            asked, clean, margin = (again if asked == clean else self._rewriter(asked) or asked), again, margin + self.settings.other_script_margin
        chosen_for = asked != clean  # the sentence is chosen for other words than those searched
        k = max(1, int(k))
        terms = query_terms(clean)
        n = max(self.settings.candidates, k * self.settings.candidates_per_result)
        found = self.candidates(clean, terms, n, within=within)
        best_dense, qvec = found.best_dense, encode_query(self.encoder, [asked])[0] if chosen_for else found.query_vector
        fused = dict(zip(found.ids.tolist(), found.fused.tolist()))
        order = found.ids[top_n(found.fused, n)]
        passages = self.index.passages
        cands = [Candidate(int(i), passages[i].article, passages[i].paragraphs, fused[int(i)]) for i in order]
        weights = {t: self._idf(t) for t in dict.fromkeys(terms) if t.strip()}
        grams = query_grams(clean)
        choice = ({t: self._idf(t) for t in dict.fromkeys(query_terms(asked)) if t.strip()}, query_grams(asked)) if chosen_for else (weights, grams)

        queue = [(-cands[g[0]].score, n, [cands[i] for i in g]) for n, g in enumerate(merge_runs(cands))]
        results = _Results(self, queue, *choice, fused, qvec, asked, weights if chosen_for else None)
        pool = []
        while (self.settings.rerank or rerank.RECORD is not None) and len(pool) < rerank.POOL and (made := results.next()):
            pool.append(results.keep(made))  # the pool's results are all kept: none repeats another's sentences
        # Whether to answer is judged on the best-scoring result, before reordering: reordering
        # picks which passage leads, it must not turn a refusal into an answer (measured: it
        # did, for "明天上海会下雨吗?" on CMRC) or the reverse.
        judged = pool[0] if pool else None
        pool = self._reranked(pool, weights)
        hits: list[Hit] = []
        first_cov = 0.0
        while len(hits) < k:
            pooled = bool(pool)
            made = pool.pop(0) if pooled else results.next()
            if made is None:
                break
            if judged is None:
                judged = made
            hit, cov = made.hit, made.coverage
            if trim and hits and hits[0].score > 0 and hit.score < self.settings.min_relative * hits[0].score:
                break
            if trim and hits and not self._plausible(hit, cov, hits[0], first_cov, weights, grams):
                continue
            if not hits:
                first_cov = cov
            hits.append(replace(hit, rank=len(hits) + 1))
            if not pooled:
                results.keep(made)
        coverage = judged.coverage if judged else 0.0
        evidence = Evidence(round(best_dense, SCORE_DIGITS), round(coverage, SCORE_DIGITS))
        if not hits or (abstain and not self._answerable(best_dense, coverage, bool(HAN.search(clean)), judged.hit, weights, grams, margin,
                                                         (query, hits[0]), steps=within is None)
                        and not headline.named(clean, self.index.articles, judged.hit.article, self._headline_alone)):
            return Answer(query, False, (), "Nothing relevant found in the indexed articles.", evidence)
        return Answer(query, True, tuple(hits), evidence=evidence)

    def _reranked(self, pool: list[CitedHit], weights: dict[str, float]) -> list[CitedHit]:
        """``pool`` (the first :data:`rerank.POOL` results) reordered by :mod:`.rerank`;
        unchanged without ``settings.rerank`` weights or question words."""
        if len(pool) < 2 or not weights or not (self.settings.rerank or rerank.RECORD is not None):
            return pool
        titles = [refusal.headline_share(weights, refusal.normalise(c.hit.title)) for c in pool]
        rows = rerank.features([c.best_chunk for c in pool], [c.choice for c in pool], [c.coverage for c in pool], titles)
        if rerank.RECORD is not None:
            rerank.RECORD.append([r | {"source": c.hit.source, "excerpt": c.hit.excerpt} for r, c in zip(rows, pool)])
        if not self.settings.rerank:
            return pool
        return [pool[i] for i in rerank.order(rows, dict(self.settings.rerank))]

    def _answerable(self, dense: float, coverage: float, chinese: bool, hit: Hit | None = None, weights=None, grams=None, margin=0.0,
                    shown: tuple[str, Hit] | None = None, steps: bool = True) -> bool:
        """Enough evidence to answer? A Chinese question must share informative words with the
        passage unless it is very close in meaning: on a large, varied corpus some unrelated
        passage is always fairly close. A question in another script (English about Chinese
        articles) can only be judged by meaning. With ``settings.refusal`` weights, a Chinese
        question must also pass the test of its most informative terms (:mod:`.refusal`), and,
        when it passes by less than ``settings.answer_check[0]``, the answer scorer's reading of
        ``shown`` (the question as asked, the first result shown; :mod:`.answer_scorer`);
        ``steps``: with ``settings.answer_check_steps`` and ``name_conflict`` too (searching the
        whole index: they were fitted there, against wrong articles; within the article a
        follow-up points back to, on a small index, the steps refused one the article answers,
        tests/test_followup.py)."""
        s = self.settings
        clearance = None  # how far the refusal weights clear their bar
        if hit is not None and (refusal.RECORD is not None or (chinese and s.refusal)):
            feats = self._evidence(hit, weights, grams, dense, coverage)
            if refusal.RECORD is not None:
                refusal.RECORD.append(feats | {"chinese": chinese})
            if chinese and s.refusal:
                clearance = refusal.score(feats, dict(s.refusal)) - margin
                if clearance <= 0:
                    return False  # and the thresholds below must agree to answer
        if not chinese and s.offtopic_floor and dense <= self._offtopic_floor():
            return False
        close = (
            dense >= (s.min_dense if chinese else s.min_dense_other_script)
            or coverage >= s.min_coverage_alone
            or (coverage >= s.min_coverage and dense >= s.min_dense_with_coverage)
        )
        if not close or shown is None:
            return close
        if chinese:  # read only where the weights and the thresholds would answer
            return clearance is None or self._reads_as_answer(clearance, *shown, steps=steps)
        # A question with no Chinese (English about Chinese articles) has no words to weigh: with a
        # third value in ``answer_check``, the scorer reads every one the thresholds answer.
        return len(s.answer_check) < 3 or self._reads_as_answer(None, *shown)

    def _reads_as_answer(self, clearance: float | None, question: str, first: Hit, steps: bool = True) -> bool:
        """False when the refusal weights cleared their bar by less than ``answer_check[0]`` and
        the answer scorer gives ``first`` less than ``answer_check[1]`` (or by less than the U of a
        step of ``answer_check_steps``, or of ``name_conflict`` where the article is about another
        place's or organisation's thing, and it gives less than that B); for a question they do
        not weigh (``clearance`` None), when it gives less than ``answer_check[2]``. True where the
        scorer cannot run."""
        check = self.settings.answer_check
        if not check:
            return True
        if clearance is not None:
            bars = [b for u, b in ((check[0], check[1]), *(self.settings.answer_check_steps if steps else ())) if clearance < u]
            rule = self.settings.name_conflict if steps else ()
            if rule and clearance < rule[0] and (not bars or max(bars) < rule[1]) and self._about_another_name(question, first):
                bars.append(rule[1])
            if not bars:
                return True
        scorer = answer_scorer.shared()
        if scorer is None:
            return True
        score = scorer.score(question, first.excerpt, first.highlight)
        if answer_scorer.RECORD is not None:
            answer_scorer.RECORD.append({"q": question, "clearance": clearance, "score": score, "source": first.source})
        return score >= (check[2] if clearance is None else max(bars))

    def _about_another_name(self, question: str, first: Hit) -> bool:
        """``first``'s article writes a noun of the question only after other places or
        organisations (:mod:`.name_conflict`; read only where it would raise the bar)."""
        marked = first.excerpt[first.highlight[0] : first.highlight[1]] if first.highlight else ""
        return bool(name_conflict.name_conflicts(question, self.article_bag(first.article)[0], marked))

    def _evidence(self, hit: Hit, weights, grams, dense: float, coverage: float) -> dict[str, float]:
        """:func:`refusal.features` of the question and ``hit``'s whole article."""
        text, tokens, article_grams = self.article_bag(hit.article)
        return refusal.features(weights or {}, grams or set(), self.index.df, text, tokens, article_grams, dense, coverage,
                                refusal.normalise(hit.title), idf(0, self.index.n_docs))

    def article_bag(self, article: int) -> tuple[str, frozenset, frozenset]:
        """An article's normalised text (NFKC, lower case), word set and bigram set (headline included; cached)."""
        return self._bags.get(article, lambda: self._make_article_bag(article))

    def _make_article_bag(self, article: int) -> tuple[str, frozenset, frozenset]:
        au = self._article_units(article)
        art = self.index.articles[article]
        head = " ".join((art.title, *art.subtitles))
        text = refusal.normalise(head + "\n" + "\n".join(art.paragraphs))
        return text, frozenset().union(*au.tokens, tokenize(head)), frozenset().union(*au.grams, char_ngrams(head))

    def _plausible(self, hit: Hit, cov: float, first: Hit, first_cov: float, weights, grams) -> bool:
        """Show this later result? (:mod:`.plausible`; always, without ``settings.later`` weights)."""
        if not self.settings.later and plausible.RECORD is None:
            return True
        feats = plausible.features(first.score, first_cov, hit.score, cov, hit.article == first.article,
                                   self._evidence(hit, weights, grams, 0.0, cov))
        if plausible.RECORD is not None:
            plausible.RECORD.append(feats | {"source": hit.source, "excerpt": hit.excerpt, "rank": hit.rank})
        return not self.settings.later or plausible.keep(feats, dict(self.settings.later))

    def _sentence_vectors(self, article: int, start: int, stop: int) -> np.ndarray:
        """Vectors of sentences ``start:stop`` of an article (only the cited paragraphs)."""
        return self._sentence_vecs.get(
            (article, start, stop), lambda: self.encoder.encode([u.text for u in self._article_units(article).units[start:stop]])
        )

    def _hit(
        self, rank, members: list[Candidate], weights, grams, fused, exclude: set[int], query_vec: np.ndarray, question: str = "",
        searched: dict[str, float] | None = None,
    ) -> CitedHit | None:
        """Build one hit from a group of chunks of one article, skipping sentences in ``exclude``;
        None when every matched sentence was already shown. Coverage is of ``searched`` (the words
        searched when the sentence is chosen for others: ``ask(focus=…)``), else of ``weights``."""
        article = self.index.articles[members[0].article]
        units, unit_tokens, unit_grams = self._article_units(article.id)
        # Units covered by the matched chunks, with the best fused score of a chunk holding each.
        chunk_score = np.full(len(units), -np.inf, dtype=np.float32)
        for pid, *_ in members:
            a, b = self.index.passages[pid].sentences
            chunk_score[a:b] = np.maximum(chunk_score[a:b], float(fused[pid]))
        matched = [i for i in np.flatnonzero(np.isfinite(chunk_score)) if i not in exclude]
        if not matched:
            return None
        paras = sorted({units[i][0] for i in matched})
        lo, hi = paras[0], paras[-1]
        first = next(i for i, (n, _s) in enumerate(units) if n == lo)
        last = max(i for i, (n, _s) in enumerate(units) if n == hi)
        window = list(range(first, last + 1))
        lexical = score_sentences(weights, grams, unit_tokens, unit_grams)
        if max((lexical[i] for i in range(first, last + 1)), default=0.0) <= 0.0 and rank == 1:
            # No word of the question occurs here (an English question about a Chinese article,
            # say): choose sentences by meaning instead. Only the first result's matched
            # sentences are encoded (a whole window can be long, and e5 costs ~10 ms a sentence);
            # later results keep their best chunk's order.
            a, b = int(min(matched)), int(max(matched)) + 1
            sims = self._sentence_vectors(article.id, a, b) @ query_vec
            lexical = [0.0] * len(units)
            for i, x in zip(range(a, b), sims):
                lexical[i] = max(0.0, float(x))
        top = float(chunk_score[matched].max())
        spread = (top - float(chunk_score[matched].min())) or 1.0
        scores = [
            lexical[i] + self.settings.chunk_bonus * ((float(chunk_score[i]) - top) / spread if np.isfinite(chunk_score[i]) else -1.0)
            for i in window
        ]
        # The answering sentence comes from the matched chunks; context may come from around them.
        local = {i - first for i in matched}
        best = max(local, key=lambda j: scores[j])
        best, partner, choice = self._choose(question, article, first, matched, lexical, chunk_score, query_vec if rank == 1 else None,
                                     weights, grams, best)
        allowed = {i - first for i in window if i not in exclude}
        # paragraph breaks stay visible inside the excerpt
        shown_text = [units[i][1].rstrip() + "\n" if i < last and units[i + 1][0] != units[i][0] else units[i][1] for i in window]
        ext = None
        if self.settings.grow_clauses or self.settings.grow_back:
            s, pair = self.settings, None if partner is None else first + partner
            lo, hi = highlight.mark([u.text for u in units], [u.paragraph for u in units], first + best, pair, question,
                                    back=s.grow_back, clauses=s.grow_clauses, account=s.grow_open, leans=s.grow_leans, tokens=unit_tokens)
            if all(i - first in allowed for i in range(lo, hi + 1)):
                ext = (lo - first, hi - first)
        run_on = self.settings.excerpt_run_on * highlight.asks_for_account(question)
        excerpt, span, chosen = build_excerpt(shown_text, best, scores, grams=grams, allowed=allowed, extent=ext, run_on=run_on)
        used = {first + j for j in chosen}
        seen = frozenset().union(*(unit_tokens[i] for i in matched))
        # Coverage: the share of the question's information (IDF mass) found in the matched chunks.
        judged_by = weights if searched is None else searched
        coverage = sum(w for t, w in judged_by.items() if t in seen) / (sum(judged_by.values()) or 1.0)
        left = [i for i in matched if i not in used]
        rest = float(chunk_score[left].max()) if left else None
        cited = sorted({units[i][0] for i in used})  # the paragraphs the excerpt quotes
        hit = Hit(
            rank=rank,
            score=round(float(chunk_score[first + best]), SCORE_DIGITS),
            title=article.title,
            source=article.source,
            paragraphs=tuple(cited),
            excerpt=excerpt,
            highlight=span,
            text="\n".join(article.paragraphs[n - 1] for n in cited),
            article=article.id,
            passages=tuple(sorted(m.passage for m in members)),
            date=article.date,
            page=article.page,
            url=article.url,
            pdf_page=article.pdf_page,
        )
        return CitedHit(hit, coverage, used, rest, choice, top, tuple(members))

    def _choose(self, question, article, first, matched, lexical, chunk_score, query_vec, weights, grams, best):
        """The answering sentence (offset from ``first``) by :mod:`.choose`'s weighted features,
        and a neighbouring sentence scored nearly as high (``settings.tie``), or None;
        ``best`` (the lexical choice) when the settings weigh nothing else. Sentences are
        encoded (``dense``) for the first result only (``query_vec`` None for the others):
        encoding is most of the cost."""
        cw, model = dict(self.settings.choice), choose.tree_model(self.settings.choice_trees)
        need = choose.needed(cw, model)
        if not (need - {"lexical", "chunk"}):
            return best, None, 0.0
        units, unit_tokens, unit_grams = self._article_units(article.id)
        top = float(chunk_score[matched].max())
        spread = (top - float(chunk_score[matched].min())) or 1.0
        rel = {i: (float(chunk_score[i]) - top) / spread for i in matched}
        title = choose.headline_terms(" ".join((article.title, *article.subtitles)))

        def dense():
            sims = np.zeros(len(units), np.float32)
            if query_vec is not None:  # only the candidates' stretch: encoding costs
                a, b = matched[0], matched[-1] + 1
                sims[a:b] = self._sentence_vectors(article.id, a, b) @ query_vec
            return sims

        feats = choose.features(question, weights, grams, title, [u.text for u in units], unit_tokens, unit_grams, matched,
                                lexical, rel, dense, need)
        if choose.RECORD is not None:
            choose.RECORD.append({"question": question, "article": article.id, "units": matched,
                                  "texts": [units[i].text for i in matched], "feats": feats.tolist(), "old": first + best})
        top, runner, value = choose.choose_two(feats, cw, self.settings.tie, model, question)
        pair = None if runner is None or abs(matched[runner] - matched[top]) != 1 else matched[runner]
        if pair is None and choose.says_nothing_asked(feats[top], need):  # marked with the sentence after it
            pair = highlight.next_sentence([u.text for u in units], [u.paragraph for u in units], matched[top])
        return matched[top] - first, (None if pair is None else pair - first), value
