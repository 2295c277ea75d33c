"""How close an off-topic question in another script comes to this index: the bar an English
question about Chinese articles must clear.

A question with no Chinese characters shares no words with the articles, so only the encoder's
cosine can judge it, and cross-lingual cosines do not separate answerable from unanswerable
questions by one fixed value: on the 40-chunk sample page the two answerable English questions
of seed_dev score 0.30 and 0.35 with USE, while on the 2,709-chunk DRCD index some passage
comes within 0.40 of "Explain the theory of relativity". The larger the corpus, the closer its
nearest passage to any question. So each index is measured against :data:`QUESTIONS`, everyday
English questions no newspaper archive answers: an English question is answered only when some
passage is closer to it than any passage is to any of them.

The last eight are the news of the day (a World Cup, a president, a market) that a reader may
ask about in any archive: on an archive with articles on sports or politics they come as close
as an answerable English question does ("Which team won the NBA finals?" reaches 0.57 on the
CMRC trial index), and so does the wrong passage an English question finds there: of 31 English
questions written on CMRC trial and DRCD dev articles (``benchmarks/data/english_*.jsonl``), 20
were answered against the first 24 alone, 11 from a wrong article; against all 32, 4, one wrong
(``python benchmarks/precision.py``). A wrong quote is worse than "nothing found".
"""

from __future__ import annotations

import numpy as np

QUESTIONS = (
    "How do I bake sourdough bread at home?",
    "What is the weather like in London in spring?",
    "Which programming language should I learn first?",
    "How many calories are in a banana?",
    "What is the best way to learn to swim?",
    "Who wrote the novel Pride and Prejudice?",
    "How do airplanes stay in the air?",
    "What are the rules of chess castling?",
    "How can I improve my credit score?",
    "What is the tallest mountain in Africa?",
    "How long should I boil an egg?",
    "Which planet has the most moons?",
    "How do I change a flat tyre on a bicycle?",
    "What time zone is Sydney in?",
    "What is the capital of Canada?",
    "How do vaccines train the immune system?",
    "What is a good name for a pet dog?",
    "How do I fix a leaking kitchen tap?",
    "Who painted the Mona Lisa?",
    "What is the speed of sound in water?",
    "How do I make my houseplants grow faster?",
    "What is the plot of the movie Titanic?",
    "How many players are on a rugby team?",
    "What does a blockchain do?",
    "Who won the last football World Cup?",
    "Which team won the NBA finals?",
    "Who is the president of the United States?",
    "What is the price of Bitcoin today?",
    "Who won the Nobel Prize in Literature?",
    "What is the population of India?",
    "Will it rain in Beijing tomorrow?",
    "How did the stock market do today?",
)


def floor(query_vectors: np.ndarray, search) -> float:
    """The highest best-passage cosine of the off-topic questions' vectors; ``search(vectors, k)``
    is the index's FAISS search (distances: inner products)."""
    if len(query_vectors) == 0:
        return 0.0
    dist, _ids = search(query_vectors, 1)
    return float(dist[:, 0].max())
