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
        self._finished: set[Path] = set()
        self._fractions: dict[Path, float] = {}

    def __enter__(self) -> RenderProgress:
        self._progress.start()
        self._reviews = self._progress.add_task("reviews", total=self._total, detail="")
        return self

    def __call__(self, path: Path, stage: str, done: int, total: int) -> None:
        assert self._reviews is not None
        if stage in ("done", "failed"):
            self._finished.add(path)
            self._fractions.pop(path, None)
        elif stage == "speaking" and total:
            # Sentences give a finer estimate than whole reviews (in-process renders only).
            self._fractions[path] = 0.8 * done / total
        if stage == "queued":
            return
        detail = f"{path.name}: {stage}" + (f" {done}/{total}" if total else "")
        completed = len(self._finished) + sum(self._fractions.values())
        self._progress.update(self._reviews, completed=completed, detail=detail)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()
