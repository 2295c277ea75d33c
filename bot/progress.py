"""The progress bar of `newsbot index`: chunks embedded, chunks per second, ETA (rich, on stderr, terminals only)."""

from __future__ import annotations


class IndexProgress:
    """A rich progress bar on stderr (terminals only): chunks embedded, chunks per second, ETA."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
            from rich.text import Text

            class Speed(ProgressColumn):
                def render(self, task):
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.0f} chunks/s" if speed else "", style="progress.data.speed")

            self.bar = Progress(
                TextColumn("embedding"), BarColumn(), MofNCompleteColumn(), Speed(), TextColumn("ETA"), TimeRemainingColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=False,
            )
            self.bar.start()
            self.task = self.bar.add_task("embedding", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
