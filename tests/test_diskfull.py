"""Full and read-only disks: a clear error naming the file, and the published show unchanged.

Each case renders the show of tests/test_crash.py (A published and unchanged, B published and
changed, C new) while writes fail, then checks the error a user sees, that subscribers still see
the show as it was, and that the next run, with the disk fixed, finishes the work.

Real file systems where this machine allows them (a tiny tmpfs, a read-only bind mount: root
may mount), the same failures injected at the write layer where it does not: every case runs
everywhere, never skipped.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reviewcast.cli import main
from reviewcast.fsutil import TEMP_PREFIX

from .test_crash import Fixture, build_shows, check_subscribers_see_a_whole_show, published


@pytest.fixture(scope="module")
def shows(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return build_shows(tmp_path_factory.mktemp("disks"))


@pytest.fixture
def show(shows: Fixture, tmp_path: Path) -> Path:
    root = tmp_path / "show"
    shutil.copytree(shows.before, root, symlinks=True)
    return root


def render(show: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`reviewcast render` in this process (so that injected faults apply); code and stderr."""
    capsys.readouterr()
    code = main(["render", "--show", str(show), "--jobs", "1", "-q"])
    return code, capsys.readouterr().err


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("reviewcast: error:")]


def assert_left_alone(show: Path, fx: Fixture, *, committed: bool = False) -> None:
    """Every file published before is still there, byte for byte, and the feed is whole.

    ``committed``: the episodes' records were saved before the failure (the feed and the files
    it lists are then still the old ones, the records and maybe the page already the new).
    """
    after = published(show)
    for rel, digest in fx.old.items():
        if committed and (rel.endswith("/episode.json") or rel == "feed/index.html"):
            continue
        assert after.get(rel) == digest, f"{rel} changed"
    check_subscribers_see_a_whole_show(show, fx)
    leftovers = [p.relative_to(show).as_posix() for p in show.rglob(TEMP_PREFIX + "*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


def assert_next_run_finishes(show: Path, fx: Fixture, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = render(show, capsys)
    assert code == 0, err
    assert published(show) == fx.new, "the next run did not finish the work"
    assert not list(show.rglob(TEMP_PREFIX + "*"))


# -- injected at the write layer: each place a render writes ------------------------------------


def enospc(what: str) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), what)


def fail_writes(monkeypatch: pytest.MonkeyPatch, matches: Callable[[Path], bool]) -> None:
    """Path.write_bytes (what fsutil writes temporary files with) fails for matching paths."""
    original = Path.write_bytes

    def write_bytes(self: Path, data: Any) -> int:
        if matches(self):
            # Half the data reaches the disk first, as on a disk filling up mid-write.
            with self.open("wb") as fh:
                fh.write(bytes(data)[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def fail_fsync(monkeypatch: pytest.MonkeyPatch, matches: Callable[[Path], bool]) -> None:
    """os.fsync fails for matching files: a full disk noticed only when data is flushed."""
    original = os.fsync

    def fsync(fd: int) -> None:
        if matches(Path(f"/proc/self/fd/{fd}").readlink()):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        original(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def temporary_of(name: str) -> Callable[[Path], bool]:
    return lambda p: p.name.startswith(TEMP_PREFIX + name)


def in_speech_cache(path: Path) -> bool:
    return path.name.startswith(TEMP_PREFIX) and path.parent.parent.name == "speech"


#: (id, how to fail, the path the error must name (a regular expression), whether the two
#: episodes are committed before the failure: then the page may already be the new one).
SITES: list[tuple[str, Callable[[pytest.MonkeyPatch], None], str, bool]] = [
    ("cache", lambda m: fail_writes(m, in_speech_cache), r"cache/speech/../[0-9a-f]+\.pcm", False),
    (
        "chapters",
        lambda m: fail_writes(m, temporary_of("chapters-")),
        r"episodes/[a-z-]+/chapters-[0-9a-f]+\.json",
        False,
    ),
    (
        "record",
        lambda m: fail_writes(m, temporary_of("episode.json")),
        r"episodes/[a-z-]+/episode\.json",
        False,
    ),
    (
        "page",
        lambda m: fail_writes(m, temporary_of("index.html")),
        r"feed/index\.html",
        True,
    ),
    ("feed", lambda m: fail_writes(m, temporary_of("feed.xml")), r"feed/feed\.xml", True),
    ("feed-fsync", lambda m: fail_fsync(m, temporary_of("feed.xml")), r"feed/feed\.xml", True),
]


@pytest.mark.parametrize(
    ("inject", "names", "committed"), [s[1:] for s in SITES], ids=[s[0] for s in SITES]
)
def test_disk_full_while_writing(
    inject: Callable[[pytest.MonkeyPatch], None],
    names: str,
    committed: bool,
    show: Path,
    shows: Fixture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inject(monkeypatch)
    code, err = render(show, capsys)
    assert code == 1, err
    assert "Traceback" not in err
    lines = errors(err)
    assert lines, err
    for line in lines:
        assert re.search(
            names + r": cannot be written: the disk is full \(No space left on device\)\. "
            r"Free some space and run again",
            line,
        ), line
    assert str(show) in lines[0]  # the whole path, so the user knows which disk
    assert_left_alone(show, shows, committed=committed)
    monkeypatch.undo()
    assert_next_run_finishes(show, shows, capsys)


# -- real file systems where this machine allows them -------------------------------------------


def _ok(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


@functools.cache
def can_mount() -> bool:
    """Whether this process may mount file systems (root usually may, in CI too)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(f"/tmp/reviewcast-mount-probe-{uuid.uuid4().hex}")
    probe.mkdir()
    try:
        mounted = _ok("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(probe))
        return mounted and _ok("umount", str(probe))
    finally:
        probe.rmdir()


@contextlib.contextmanager
def mounted(*args: str, at: Path) -> Iterator[None]:
    subprocess.run(["mount", *args, str(at)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(at)], check=True, capture_output=True)


def refuse(monkeypatch: pytest.MonkeyPatch, folder: Path, code: int) -> None:
    """Fallback: the calls that create, rename or remove files fail under ``folder``."""
    inside = functools.partial(_inside, folder.resolve())
    os_open, os_replace, os_rename = os.open, os.replace, os.rename
    os_mkdir, os_unlink = os.mkdir, os.unlink
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def refused(path: Any) -> OSError:
        return OSError(code, os.strerror(code), os.fspath(path))

    def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing and inside(path):
            raise refused(path)
        return os_open(path, flags, *args, **kwargs)

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if inside(src) or inside(dst):
            raise refused(dst)
        os_replace(src, dst, *args, **kwargs)

    def rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if inside(src) or inside(dst):
            raise refused(dst)
        os_rename(src, dst, *args, **kwargs)

    def mkdir(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path) and not Path(path).exists():  # an existing folder: EEXIST, as Linux
            raise refused(path)
        os_mkdir(path, *args, **kwargs)

    def unlink(path: Any, *args: Any, **kwargs: Any) -> None:
        if inside(path):
            raise refused(path)
        os_unlink(path, *args, **kwargs)

    for name, fake in (
        ("open", open_),
        ("replace", replace),
        ("rename", rename),
        ("mkdir", mkdir),
        ("unlink", unlink),
    ):
        monkeypatch.setattr(os, name, fake)


def _inside(folder: Path, path: Any) -> bool:
    try:
        return Path(os.fspath(path)).resolve().is_relative_to(folder)
    except TypeError:  # a file descriptor
        return False


@contextlib.contextmanager
def read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Make ``folder`` and all below it unwritable; yield how (root ignores permissions)."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for path, mode in modes.items():
            path.chmod(mode & ~0o222)
        try:
            yield "chmod a-w"
        finally:
            for path, mode in modes.items():
                path.chmod(mode)
    elif can_mount():
        with mounted("--bind", str(folder), at=folder):
            subprocess.run(
                ["mount", "-o", "remount,bind,ro", str(folder)], check=True, capture_output=True
            )
            yield "read-only bind mount"
    else:
        with monkeypatch.context() as patch:
            refuse(patch, folder, errno.EROFS)
            yield "injected EROFS"


#: (folder made read-only, the path the error names, whether the records get saved first)
READ_ONLY = [
    ("episodes", r"episodes/[a-z-]+(/glass-houses-[0-9a-f]+\.mp3)?", False),
    ("feed", r"feed/index\.html", True),
    (".reviewcast", r"\.reviewcast/render\.lock", False),
]


@pytest.mark.parametrize(("folder", "names", "committed"), READ_ONLY, ids=[r[0] for r in READ_ONLY])
def test_read_only_folder(
    folder: str,
    names: str,
    committed: bool,
    show: Path,
    shows: Fixture,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with read_only(show / folder, monkeypatch) as how:
        code, err = render(show, capsys)
    assert code == 1, (how, err)
    assert "Traceback" not in err
    lines = errors(err)
    assert lines, err
    for line in lines:
        assert re.search(
            names + r": cannot be written: the folder is not writable \((Read-only file system|"
            r"Permission denied)\): \S+. Make it writable by this user and run again",
            line,
        ), (how, line)
    assert_left_alone(show, shows, committed=committed)
    if not committed:
        assert published(show) == shows.old, how
    assert_next_run_finishes(show, shows, capsys)


LEVELS = [0, 256 * 1024, 1024 * 1024, 2 * 1024 * 1024]


def fill(disk: Path, leave: int) -> Path:
    """A file taking all of ``disk``'s free space but ``leave`` bytes."""
    filler = disk / "filler"
    stat = os.statvfs(disk)
    with filler.open("wb") as fh, contextlib.suppress(OSError):
        fh.truncate(0)
        fh.write(bytes(max(0, stat.f_bavail * stat.f_frsize - leave)))
    return filler


def simulate_quota(monkeypatch: pytest.MonkeyPatch, show: Path, leave: int) -> None:
    """Fallback: writes through fsutil fail once ``leave`` bytes have been written."""
    original = Path.write_bytes
    written = [0]

    def write_bytes(self: Path, data: Any) -> int:
        if self.is_relative_to(show):
            written[0] += len(data)
            if written[0] > leave:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)


def test_disk_fills_up(
    shows: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A really small disk (tmpfs) with a little more room each time: every render either
    finishes or stops with 'the disk is full', and the show stays whole."""
    disk = tmp_path / "disk"
    disk.mkdir()
    real = can_mount()
    failed = 0
    with (
        mounted("-t", "tmpfs", "-o", "size=16m", "tmpfs", at=disk)
        if real
        else (contextlib.nullcontext())
    ):
        for leave in LEVELS:
            show = disk / "show"
            shutil.rmtree(show, ignore_errors=True)
            shutil.copytree(shows.before, show, symlinks=True)
            with monkeypatch.context() as patch:
                if real:
                    filler = fill(disk, leave)
                else:
                    simulate_quota(patch, show, leave)
                code, err = render(show, capsys)
                if real:
                    filler.unlink()
            if code == 0:
                assert published(show) == shows.new
                continue
            failed += 1
            assert code == 1 and "Traceback" not in err, (leave, err)
            for line in errors(err):
                assert str(show) in line and "the disk is full" in line, (leave, line)
            check_subscribers_see_a_whole_show(show, shows)
            assert not list(show.rglob(TEMP_PREFIX + "*"))
            assert_next_run_finishes(show, shows, capsys)
    assert failed, "the disk never filled up"


def test_episodes_on_another_disk(
    show: Path,
    shows: Fixture,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """episodes/ a link to another file system (a web server's folder): the MP3 cannot be
    renamed into place from the work folder, so it is copied, still atomically."""
    shm = Path("/dev/shm")
    with contextlib.ExitStack() as stack:
        if can_mount():
            other = tmp_path / "other"
            other.mkdir()
            stack.enter_context(mounted("-t", "tmpfs", "-o", "size=16m", "tmpfs", at=other))
        elif shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != show.stat().st_dev:
            other = shm / f"reviewcast-{uuid.uuid4().hex}"
            other.mkdir()
            stack.callback(shutil.rmtree, other, ignore_errors=True)
        else:  # one file system only: renames into ``other`` fail as they would across two
            other = tmp_path / "other"
            other.mkdir()
            _refuse_renames_into(monkeypatch, other)
        shutil.move(show / "episodes", other / "episodes")
        (show / "episodes").symlink_to(other / "episodes")
        code, err = render(show, capsys)
        assert code == 0, err
        assert published(show) == shows.new
        assert not list((other / "episodes").rglob(TEMP_PREFIX + "*"))
        assert not (show / ".reviewcast" / "work").exists()


def _refuse_renames_into(monkeypatch: pytest.MonkeyPatch, other: Path) -> None:
    os_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if _inside(other, dst) and not _inside(other, src):
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), os.fspath(dst))
        os_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
