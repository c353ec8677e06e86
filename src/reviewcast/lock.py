"""One render at a time per show: a lock file holding the owner's pid, cleared when stale."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from reviewcast.errors import ReviewcastError

LOCK_PATH = Path(".reviewcast") / "render.lock"


class LockedError(ReviewcastError):
    """Another reviewcast process is working on this show."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@contextlib.contextmanager
def show_lock(show_root: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the show's lock; wait up to ``wait`` seconds for another run, then refuse clearly."""
    path = show_root / LOCK_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            owner = _owner(path)
            if owner is None and _age(path) < 5:
                owner = -1  # just created by another process, which is writing its pid
            elif owner is None or not _alive(owner):
                path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"another reviewcast (pid {owner}) is working on this show; "
                    "wait for it to finish, or pass --wait SECONDS",
                    path=show_root,
                ) from None
            time.sleep(0.2)
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        break
    try:
        yield
    finally:
        if _owner(path) == os.getpid():
            path.unlink(missing_ok=True)


def _age(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return 0.0


def _owner(path: Path) -> int | None:
    try:
        return int(path.read_text().strip() or "0") or None
    except (OSError, ValueError):
        return None
