"""Writes that never leave a half-written file behind: write a temporary file, then rename.

A write that fails because the disk is full or the folder is read-only raises a WriteError that
names the file and says so, and leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from reviewcast.errors import ReviewcastError

TEMP_PREFIX = ".tmp-"

_FULL = {errno.ENOSPC, errno.EDQUOT}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}
#: Errors that can only come from writing, whichever file the OSError names.
_WRITE_ONLY = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class WriteError(ReviewcastError):
    """A file could not be written: the disk is full, or its folder is not writable."""


def write_error(exc: OSError, target: Path) -> WriteError:
    """The message for users of an OSError met while writing ``target``."""
    said = f" ({exc.strerror})" if exc.strerror else ""  # the system's own words
    if exc.errno in _FULL:
        reason = f"the disk is full{said}. Free some space and run again"
    elif exc.errno in _NOT_WRITABLE:
        reason = (
            f"the folder is not writable{said}: {target.parent}. Make it writable by this user "
            "and run again"
        )
    else:
        reason = f"{exc.strerror or exc}. Fix the cause and run again"
    error = WriteError(f"cannot be written: {reason}; nothing half-written was left", path=target)
    error.__cause__ = exc
    return error


def disk_trouble(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc`` saying the disk is full or a folder is not writable, if any.

    Libraries wrap OSErrors in their own exceptions (mutagen's MutagenError, our AudioError);
    this looks through causes, contexts and arguments for one.
    """
    todo, seen = [exc], set()
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL | _NOT_WRITABLE:
            return current
        linked = (current.__cause__, current.__context__, *current.args)
        todo.extend(e for e in linked if isinstance(e, BaseException))
    return None


@contextlib.contextmanager
def atomic_path(target: Path, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is fsynced and renamed onto it.

    ``durable=False`` skips the fsync, for caches: after a power cut an entry may be lost or
    empty-and-renamed, which costs a re-synthesis, never a published file.

    On any exception the temporary file is removed and ``target`` is untouched. An OSError
    writing the file (disk full, read-only folder, …) becomes a WriteError naming ``target``.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX + target.name + ".", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise write_error(exc, target) from exc
    tmp = Path(name)
    try:
        try:
            yield tmp
        except OSError as exc:
            # The caller's own errors (say, reading a source file it copies) stay its own.
            if exc.errno in _WRITE_ONLY or exc.filename in (name, str(target)):
                raise write_error(exc, target) from exc
            raise
        try:
            if durable:
                with tmp.open("rb+") as fh:
                    # A full disk may only show here: delayed allocation, network file systems.
                    os.fsync(fh.fileno())
            # mkstemp makes 0600 files; published files must be readable by a web server.
            tmp.chmod(0o644)
            tmp.replace(target)
        except OSError as exc:
            raise write_error(exc, target) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(target: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``target`` atomically; a file already holding ``data`` is left alone."""
    if _holds(target, data):
        # Rewriting the same bytes would only change the time a web server reports, and could
        # fail for nothing on a full disk.
        return
    with atomic_path(target, durable=durable) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:  # whatever it says, it is about writing ``target``
            raise write_error(exc, target) from exc


def atomic_write_text(target: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``target`` atomically."""
    atomic_write_bytes(target, text.encode("utf-8"))


def remove_stale_temporaries(folder: Path, *, recursive: bool = False) -> None:
    """Delete temporary files an interrupted run left in ``folder`` (and below, if recursive).

    Only while no other process can be writing there: under the show's lock.
    """
    if folder.is_dir():
        for leftover in (folder.rglob if recursive else folder.glob)(TEMP_PREFIX + "*"):
            if leftover.is_file():
                # One that cannot go (a read-only folder) is harmless: no one reads it.
                with contextlib.suppress(OSError):
                    leftover.unlink(missing_ok=True)


def _holds(target: Path, data: bytes) -> bool:
    try:
        if target.is_symlink() or not target.is_file() or target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except OSError:
        return False
