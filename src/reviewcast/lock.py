"""One render at a time per show: an OS lock on .reviewcast/render.lock, holding the owner pid.

The lock is ``flock(2)`` on the file, not the file's existence: the kernel releases it the moment
its process ends, however it ends (SIGKILL, power cut of a container, OOM killer). A lock file
left by a killed run is therefore stale by construction and the next run simply takes it over;
no pid has to be guessed alive or dead (pids are reused), and two runs that find the same stale
file cannot both believe they cleared it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from reviewcast.errors import ReviewcastError
from reviewcast.fsutil import write_error

LOCK_PATH = Path(".reviewcast") / "render.lock"
#: How often a run told to --wait tries the lock again.
POLL_SECONDS = 0.1


class LockedError(ReviewcastError):
    """Another reviewcast process is working on this show."""


@contextlib.contextmanager
def show_lock(show_root: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the show's lock; wait up to ``wait`` seconds for another run, then refuse clearly."""
    path = show_root / LOCK_PATH
    deadline = time.monotonic() + wait
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _owner(fd)
            os.close(fd)
            if time.monotonic() >= deadline:
                who = f"(pid {owner}) " if owner else ""
                raise LockedError(
                    f"another reviewcast {who}is working on this show; "
                    "wait for it to finish, or pass --wait SECONDS",
                    path=show_root,
                ) from None
            time.sleep(POLL_SECONDS)
            continue
        except OSError as exc:  # e.g. ENOLCK: a network file system without locks
            os.close(fd)
            raise ReviewcastError(
                f"cannot lock this file ({exc.strerror or exc}); keep the show on a local disk",
                path=path,
            ) from exc
        if _same_file(fd, path):
            break
        # The holder we waited for removed the file as it finished: our lock is on a file no
        # one else can see. Lock the file that is there now instead.
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass  # the pid only makes the message of a refused run more helpful
    try:
        yield
    finally:
        # Removed while still locked, so a waiting run never takes a lock on a removed file
        # without noticing (see _same_file).
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise write_error(exc, path) from exc


def _same_file(fd: int, path: Path) -> bool:
    try:
        mine, there = os.fstat(fd), path.stat()
    except OSError:
        return False
    return (mine.st_dev, mine.st_ino) == (there.st_dev, there.st_ino)


def _owner(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip() or "0") or None
    except (OSError, ValueError):
        return None
