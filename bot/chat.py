"""`newsbot chat`: an interactive session, one question a line.

Commands: ``:more`` (next results), ``:full N`` (citation N's whole passage), ``:sources``,
``:help``, ``:quit`` (or Ctrl-D). Piped input with ``--json`` answers as JSON Lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..embeddings.errors import NewsbotError

from . import render
from .paging import next_page

HELP = """Type a question (中文 or English) and press Enter. Commands:
  :more      the next results for the last question
  :full N    the whole passage of citation N
  :sources   the articles in the index
  :help      this help
  :quit      leave (or Ctrl-D)"""

PROMPT = "newsbot> "


def history_file() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("newsbot")) / "history"


def _setup_readline():
    """Line editing and a persistent history; returns a function that saves it (or None)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    path = history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            readline.read_history_file(str(path))
    except OSError:
        pass
    readline.set_history_length(1000)

    def save():
        try:
            readline.write_history_file(str(path))
        except OSError as e:
            print(f"newsbot: cannot save the chat history to {path}: {e.strerror or e}. Make that folder writable to keep it "
                  "(your questions were answered; only the history is lost).", file=sys.stderr)

    return save


def source_rows(index) -> list[dict]:
    counts: dict[int, int] = {}
    for p in index.passages:
        counts[p.article] = counts.get(p.article, 0) + 1
    meta = ("date", "page", "section", "url", "pdf_page")
    return [
        {"title": a.title, "source": a.source, "paragraphs": len(a.paragraphs), "chunks": counts.get(a.id, 0)}
        | {k: getattr(a, k) for k in meta if getattr(a, k)}
        for a in index.articles
    ]


class Session:
    """The state of one chat: the last question and the citations shown so far."""

    def __init__(self, retriever, k: int, as_json: bool, out=None, color: bool | None = None):
        self.retriever = retriever
        self.k = k
        self.as_json = as_json
        self.out = sys.stdout if out is None else out
        self.color = (render.use_color(self.out) if color is None else color) and not as_json
        self.question: str | None = None
        self.asked_k = 0
        self.hits: list = []  # every citation shown for the current question, numbered 1..n

    # -- output ----------------------------------------------------------------------------

    def _json(self, obj) -> None:
        print(render.json_dumps(obj), file=self.out, flush=True)

    def _say(self, text: str) -> None:
        if self.as_json:
            self._json({"message": text})
        else:
            print(text, file=self.out, flush=True)

    def _error(self, text: str) -> None:
        if self.as_json:
            self._json({"error": text})
        else:
            print(f"newsbot: {render.printable(text, True)}", file=sys.stderr, flush=True)

    # -- commands --------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Handle one input line; ``False`` means leave."""
        line = line.strip()
        if not line:
            return True
        if line.startswith(":") and not line.startswith("::"):
            cmd, _, arg = line[1:].partition(" ")
            cmd = cmd.lower()
            if cmd in ("quit", "q", "exit"):
                return False
            if cmd in ("help", "h", "?"):
                self._say(HELP)
            elif cmd == "more":
                self.more()
            elif cmd == "full":
                self.full(arg.strip())
            elif cmd == "sources":
                self.sources()
            else:
                self._error(f"unknown command {line!r}; type :help for the commands.")
            return True
        self.ask(line)
        return True

    def separate(self) -> None:
        if not self.as_json:
            print(file=self.out, flush=True)

    def ask(self, question: str) -> None:
        try:
            answer = self.retriever.ask(question, k=self.k)
        except NewsbotError as e:
            self._error(str(e))
            return
        self.question, self.asked_k = question, self.k
        self.hits = list(answer.hits) if answer.answered else []
        if self.as_json:
            self._json(answer.to_dict())
        else:
            render.print_answer(answer, self.out, self.color)

    def more(self) -> None:
        if self.question is None:
            self._error("no question yet: type a question first, then :more.")
            return
        if not self.hits:
            self._error("nothing was found for the last question; try other words.")
            return
        k = self.asked_k + self.k
        try:
            answer = self.retriever.ask(self.question, k=k, trim=False)
        except NewsbotError as e:
            self._error(str(e))
            return
        self.asked_k = k
        new = next_page(answer.hits if answer.answered else (), self.hits)
        self.hits.extend(new)
        if self.as_json:
            self._json({"query": self.question, "answered": bool(new), "more": True, "results": [h.to_dict() for h in new]})
        elif not new:
            self._say("No more results for this question.")
        else:
            render.print_hits(new, self.out, self.color)

    def full(self, arg: str) -> None:
        if not self.hits:
            self._error("no citations yet: ask a question first, then :full N.")
            return
        try:
            n = int(arg)
        except ValueError:
            self._error(f"usage: :full N, with N between 1 and {len(self.hits)} (the number in [N]).")
            return
        if not 1 <= n <= len(self.hits):
            self._error(f"there is no citation [{n}]: pick N between 1 and {len(self.hits)}.")
            return
        hit = self.hits[n - 1]
        if self.as_json:
            self._json({"citation": n, "title": hit.title, "source": hit.source, "paragraphs": list(hit.paragraphs), "text": hit.text})
        else:
            render.print_hits([hit], self.out, self.color, full=True)

    def sources(self) -> None:
        rows = source_rows(self.retriever.index)
        if self.as_json:
            self._json({"sources": rows})
        else:
            render.print_sources(rows, self.out, self.color)


def run_chat(retriever, k: int, as_json: bool) -> int:
    """Read questions from stdin until ``:quit`` or end of input."""
    retriever.warm_up()
    session = Session(retriever, k, as_json)
    interactive = sys.stdin.isatty()
    if not interactive:
        for line in sys.stdin:
            if not session.handle(line):
                break
            if line.strip():
                session.separate()
        return 0

    save = _setup_readline()
    n = len(retriever.index.articles)
    print(f"newsbot chat: {n} articles indexed. Ask a question; :help for commands, :quit or Ctrl-D to leave.", file=sys.stderr)
    try:
        while True:
            try:
                line = input(PROMPT)
            except EOFError:
                print(file=sys.stderr)
                break
            except KeyboardInterrupt:  # Ctrl-C drops the line; Ctrl-D leaves
                print(file=sys.stderr)
                continue
            try:
                if not session.handle(line):
                    break
            except KeyboardInterrupt:
                print("(interrupted)", file=sys.stderr)
            if line.strip():
                session.separate()
    finally:
        if save:
            save()
    return 0
