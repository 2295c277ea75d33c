"""Follow-up questions, without a language model: a short question asked in reply to an answer.

A reader who replies "他是哪里人？" or "那杨昊呢？" to one of the bot's answers leaves out what the
question before said. :func:`ask_followup` resolves it against that answer:

1. **The cited article first** (the previous answer's first result), searched alone
   (``Retriever.ask(within=…)``) with the follow-up's words plus who or what it points back to:
   the names in the previous question (jieba's part-of-speech tags, quoted words), or, when it
   names none, all its content words the follow-up leaves out (its *carried terms*). The
   answering sentence is chosen for the follow-up's own words (``focus``). The article answers
   unless the follow-up names something it does not hold (a name, or X in "那X呢？") or the
   usual evidence test refuses (judged on the searched words: the follow-up and the names it
   points back to). Without that test every follow-up got a quote from the article, answerable
   or not (31 of 31 unanswerable follow-ups in ``benchmarks/data/followups.jsonl``).
2. **Else a search** of the whole index (``resolved_in="search"``), with the usual evidence
   test: "那X呢？" / "what about X?" asks the previous question of X (its subject, read off the
   cited article's headline, swapped for X) within the articles a search for X finds holding X;
   a follow-up naming what the cited article does not is a question of its own and is searched
   as asked; any other is searched with the words the article search used. A refusal stands:
   "nothing found" beats a quote for a question nobody asked.

The answer's ``query`` is the follow-up as asked; :attr:`FollowUp.query` is what was searched.
Measured by ``benchmarks/followup.py`` on ``benchmarks/data/followups.jsonl``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from .excerpt import idf
from .search import MAX_QUESTION_CHARS
from .tokenize import HAN, STOPWORDS, _jieba, tokenize
from .types import Answer, Hit

ARTICLE = "article"
SEARCH = "search"

# Share (by IDF) of the words a follow-up names that an article must hold, besides the rarest one.
MIN_FOUND = 0.5
# Results of a search for X ("那X呢？") whose articles are searched for the previous question.
SUBJECT_ARTICLES = 5

# "那X呢？", "X呢？", "还有X呢？", "那么X呢", "what about X?", "and X?": the previous question, of X.
_WHAT_ABOUT = (
    re.compile(r"^(?:那么|那麼|那|还有|還有|而|至于|至於)?\s*(?P<x>.+?)\s*呢\s*[?？!！。.]*$"),
    re.compile(r"^(?:what|how)\s+about\s+(?P<x>.+?)\s*[?？!.]*$", re.IGNORECASE),
    re.compile(r"^and\s+(?P<x>(?!how\b|what\b|when\b|where\b|who\b|why\b|which\b)[^?？]+?)\s*[?？]+$", re.IGNORECASE),
)
# "那2006年他的最好成绩呢？" is about the same subject: a word pointing back inside X makes it a
# question of its own, not the previous one asked of someone else.
_POINTERS = re.compile(r"他|她|它|其|该|該|这|這|此|\b(?:he|she|it|its|his|her|they|their|them)\b", re.IGNORECASE)
_WHEN = re.compile(r"\d|[年月日号號]$|^(?:今|明|去|前|后|後)(?:年|天)$")
# jieba's part-of-speech tags of names: people, places, organisations, other proper nouns, Latin words.
_NAME_TAGS = ("nr", "ns", "nt", "nz", "eng")
# Quoted words are names too: “建才之家”, 「Framheim」, 《胭脂扣》.
_QUOTED = re.compile(r"[“「『《\"](.{2,20}?)[”」』》\"]")


class FollowUp(NamedTuple):
    """What :func:`ask_followup` found."""

    answer: Answer
    resolved_in: str  # "article": answered from the cited article; "search": fell back to a search
    query: str  # the query actually searched


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def content_terms(text: str) -> list[str]:
    """The words of ``text`` that name something: jieba tokens without stop words, question words
    and pronouns (unlike :func:`.tokenize.query_terms`, nothing when none are left), in order,
    each once."""
    return list(dict.fromkeys(t for t in tokenize(text) if t not in STOPWORDS))


def carried_terms(previous_question: str, question: str) -> list[str]:
    """The previous question's content words that ``question`` leaves out (neither as a word nor
    inside its text): what an elliptical follow-up takes for granted."""
    asked = _norm(question)
    own = set(content_terms(question))
    terms = content_terms(previous_question)
    # words, not the pieces search mode adds for them (徐宜民 gives 徐宜, 宜民): what is searched is re-tokenised
    whole = [t for t in terms if not any(t != u and t in u for u in terms)]
    return [t for t in dict.fromkeys(whole) if t not in own and t not in asked]


def with_carried(question: str, carried: Sequence[str]) -> str:
    """The follow-up with the carried terms after it: what is searched."""
    return " ".join([question.strip(), *carried])


def names_carried(previous_question: str, question: str) -> list[str]:
    """The names in the previous question (:func:`named_terms`) that ``question`` leaves out: who
    or what "他" / "它" is. Within the cited article they alone are carried: the previous
    question's other words would lead back to the sentence that answered it."""
    asked = _norm(question)
    return [t for t in named_terms(previous_question) if t not in asked]


def what_about(question: str) -> str | None:
    """X when ``question`` is "那X呢？" / "what about X?" (the previous question, asked of X), else None."""
    q = " ".join(unicodedata.normalize("NFKC", question).split())
    for pattern in _WHAT_ABOUT:
        m = pattern.match(q)
        if m:
            x = m.group("x").strip(" ,，、")
            if x and not _POINTERS.search(x) and content_terms(x):
                return x
    return None


def named_terms(question: str) -> list[str]:
    """The names in a Chinese ``question`` (jieba's part-of-speech tags; two characters or longer):
    what an article must hold to answer it. Its other words (verbs, common nouns) are often put
    differently in the article. None in a question without Chinese: the tagger knows no English
    names, and the articles are mostly Chinese."""
    if not HAN.search(question):
        return []
    from jieba import posseg  # imported here: only follow-ups pay for the tagger

    _jieba()  # quiet, initialised
    q = unicodedata.normalize("NFKC", question)
    quoted = [m.group(1).strip() for m in _QUOTED.finditer(q)]
    words = [w.word.strip() for w in posseg.cut(q) if w.flag.startswith(_NAME_TAGS)]
    return list(dict.fromkeys(w.lower() for w in quoted + words if len(w) >= 2 and w.lower() not in STOPWORDS))


def found_in(terms: Sequence[str], weights: dict[str, float], text: str, tokens: frozenset[str]) -> bool:
    """Does an article (its normalised ``text`` and ``tokens``) hold ``terms``: the rarest one (by
    ``weights``) and at least :data:`MIN_FOUND` of them by weight? A term is found as a word or,
    two characters or longer, inside the text (jieba cuts a name in a question and in an article
    differently). True when there are no terms."""
    if not terms:
        return True
    found = {t for t in terms if t in tokens or (len(t) >= 2 and t in text)}
    key = max(terms, key=lambda t: (weights.get(t, 0.0), len(t)))
    total = sum(weights.get(t, 0.0) for t in terms) or 1.0
    return key in found and sum(weights.get(t, 0.0) for t in found) / total >= MIN_FOUND


def subject_terms(previous_question: str, headline: str, text: str, tokens: frozenset[str], weights: dict[str, float]) -> list[str]:
    """What the previous question was about: its content words in the cited article's ``headline``,
    else its rarest word (by ``weights``) the article (``text``, ``tokens``) holds."""
    terms = content_terms(previous_question)
    head = set(tokenize(headline))
    in_headline = [t for t in terms if t in head]
    if in_headline:
        return in_headline
    held = [t for t in terms if t in tokens or (len(t) >= 2 and t in text)]
    return [max(held, key=lambda t: (weights.get(t, 0.0), len(t)))] if held else []


def swap_subject(previous_question: str, subject: Sequence[str], new_subject: str) -> str:
    """The previous question asked of ``new_subject``: the ``subject`` terms cut out of it (longest
    first) and ``new_subject`` put in front ("于海什么时候入选中国国家队？", [于海], 杨昊 ->
    "杨昊 什么时候入选中国国家队？")."""
    rest = _norm(previous_question)
    for term in sorted(subject, key=len, reverse=True):
        rest = rest.replace(term, " ")
    return " ".join(f"{new_subject} {rest}".split())


def cited_article(retriever, hit: Hit) -> int | None:
    """The id of ``hit``'s article in the retriever's index, or None when the index no longer holds
    it (ids are checked against the source and title: the index may have been rebuilt since)."""
    articles = retriever.index.articles
    if 0 <= hit.article < len(articles):
        art = articles[hit.article]
        if art.source == hit.source and art.title == hit.title:
            return art.id
    return next((a.id for a in articles if a.source == hit.source and a.title == hit.title), None)


def _weights(retriever, terms: Sequence[str]) -> dict[str, float]:
    return {t: idf(int(retriever.index.df.get(t, 0)), retriever.index.n_docs) for t in terms}


def _holds(retriever, article: int, terms: Sequence[str]) -> bool:
    text, tokens, _grams = retriever.article_bag(article)
    return found_in(terms, _weights(retriever, terms), text, tokens)


def _of_subject(retriever, article: int | None, previous_question: str, new_subject: str) -> str:
    """The previous question asked of ``new_subject`` ("那X呢？"); the subject it drops is read off
    the cited ``article``. "那2006年呢？" asks it of another time, of the same subject."""
    subject: list[str] = []
    if article is not None and not _WHEN.search(new_subject):
        art = retriever.index.articles[article]
        text, tokens, _grams = retriever.article_bag(article)
        headline = " ".join((*art.kicker, art.title, *art.subtitles))
        subject = subject_terms(previous_question, headline, text, tokens, _weights(retriever, content_terms(previous_question)))
    return swap_subject(previous_question, subject, new_subject)


def _fits(query: str, question: str) -> str:
    """``query``, or ``question`` when the words added to it would make it too long to ask."""
    return query if len(query) <= MAX_QUESTION_CHARS else question


def ask_followup(retriever, previous_question: str, previous_hits: Sequence[Hit], question: str, k: int = 5, *,
                 trim: bool = True) -> FollowUp:
    """Answer ``question``, asked in reply to the answer to ``previous_question`` whose results
    were ``previous_hits`` (the answer's, best first): from the article that answer cited when it
    can, else by a search (see the module docstring). The highlight is chosen for ``question``;
    the answer's ``query`` is ``question``, :attr:`FollowUp.query` what was searched."""
    if not isinstance(question, str) or not any(ch.isalnum() for ch in question):
        return FollowUp(retriever.ask(question, k, trim=trim), SEARCH, question)  # nothing to resolve: ask's own reply
    carried = carried_terms(previous_question, question)
    article = cited_article(retriever, previous_hits[0]) if previous_hits else None
    new_subject = what_about(question)
    named = content_terms(new_subject) if new_subject else named_terms(question)

    def answered(answer: Answer, where: str, query: str) -> FollowUp:
        return FollowUp(replace(answer, query=question), where, query)

    own_subject = article is not None and not _holds(retriever, article, named)  # names what the article does not
    if article is not None and not own_subject:
        query = _fits(with_carried(question, names_carried(previous_question, question) or carried), question)
        answer = retriever.ask(query, k, trim=trim, within=[article], focus=question)
        if answer.answered and answer.hits:
            return answered(answer, ARTICLE, query)

    if new_subject is not None:
        query = _fits(_of_subject(retriever, article, previous_question, new_subject), question)
        found = retriever.ask(new_subject, SUBJECT_ARTICLES, trim=False, abstain=False).hits
        holding = list(dict.fromkeys(h.article for h in found if _holds(retriever, h.article, named)))
        answer = retriever.ask(query, k, trim=trim, within=holding or None)
    elif own_subject:
        query = question  # a question of its own, about something else: the previous one's words would mislead
        answer = retriever.ask(query, k, trim=trim)
    else:
        query = _fits(with_carried(question, names_carried(previous_question, question) or carried), question)
        answer = retriever.ask(query, k, trim=trim, focus=question)
    return answered(answer, SEARCH, query)
