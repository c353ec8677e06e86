"""A rich progress bar for renders: current review and stage, reviews done/total, an estimate."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class RenderProgress:
    """Context manager yielding the pipeline's progress callback."""

    def __init__(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._total = total
        self._reviews: TaskID | None = None
        self._current: Path | None = None
        self._done = 0

    def __enter__(self) -> RenderProgress:
        self._progress.start()
        self._reviews = self._progress.add_task("reviews", total=self._total, detail="")
        return self

    def __call__(self, path: Path, stage: str, done: int, total: int) -> None:
        assert self._reviews is not None
        if self._current is not None and path != self._current:
            self._done += 1
        self._current = path
        detail = f"{path.name}: {stage}" + (f" {done}/{total}" if total else "")
        # Sentences give a finer estimate than whole reviews.
        fraction = done / total if total and stage == "speaking" else 0.0
        self._progress.update(self._reviews, completed=self._done + fraction, detail=detail)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
