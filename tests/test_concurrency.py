"""Two renders of one show at once: the second refuses (or waits with --wait), the feed is never
torn, and the lock of a killed run is recognised as stale and taken over.

The first render is ``tests.test_crash.drive`` stopped (SIGSTOP) mid-render, holding the lock,
so that "at once" does not depend on timing.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import lxml.etree  # type: ignore[import-untyped]
import pytest

from reviewcast import lock
from reviewcast.lock import LOCK_PATH, LockedError, show_lock

from .test_crash import (
    RENDER_ARGS,
    Fixture,
    build_shows,
    check_subscribers_see_a_whole_show,
    kill,
    published,
    start,
    wait_for_line,
)

HOLD = "enter:synthesis:1"  # where the first render stops, holding the lock
REFUSAL = re.compile(
    r"reviewcast: error: (?P<show>.+): another reviewcast \(pid (?P<pid>\d+)\) is working on "
    r"this show; wait for it to finish, or pass --wait SECONDS"
)


@pytest.fixture(scope="module")
def shows(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return build_shows(tmp_path_factory.mktemp("concurrency"))


@pytest.fixture
def show(shows: Fixture, tmp_path: Path) -> Path:
    root = tmp_path / "show"
    shutil.copytree(shows.before, root, symlinks=True)
    return root


def reviewcast(show: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "reviewcast", *RENDER_ARGS, *args],
        cwd=show,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def holder(show: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A render stopped mid-way, holding the show's lock; killed at the end if still there."""
    log = tmp_path / "holder.log"
    proc = start(show, log, stop_at=HOLD)
    wait_for_line(log, proc, HOLD, limit=60)
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def resume(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGCONT)
    return proc.wait(timeout=120)


class FeedWatcher:
    """Reads feed/feed.xml as fast as it can while renders run: every read must be whole."""

    def __init__(self, show: Path) -> None:
        self.feed = show / "feed" / "feed.xml"
        self.reads = 0
        self.versions: set[bytes] = set()
        self.problems: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> FeedWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            data = self.feed.read_bytes()
            self.reads += 1
            self.versions.add(data)
            try:
                channel = lxml.etree.fromstring(data).find("channel")
                guids = [g.text for g in channel.iter("guid")] if channel is not None else []
                if len(guids) != len(set(guids)) or len(guids) < 2:
                    self.problems.append(f"episodes {guids}")
            except lxml.etree.XMLSyntaxError as exc:
                self.problems.append(f"torn feed: {exc}")
            time.sleep(0.001)


def test_second_run_refuses_while_the_first_renders(
    show: Path, shows: Fixture, holder: subprocess.Popen[bytes]
) -> None:
    second = reviewcast(show)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 1, (out, err)
    refusal = REFUSAL.search(err)
    assert refusal, err
    assert int(refusal["pid"]) == holder.pid
    assert published(show) == shows.old  # the second run touched nothing
    assert resume(holder) == 0
    assert published(show) == shows.new
    assert not (show / LOCK_PATH).exists()


def test_wait_takes_turns_and_the_feed_is_never_torn(
    show: Path, shows: Fixture, holder: subprocess.Popen[bytes]
) -> None:
    with FeedWatcher(show) as watcher:
        waiting = reviewcast(show, "--wait", "120", "--force")
        time.sleep(1.5)
        assert waiting.poll() is None, "--wait did not wait"
        assert published(show) == shows.old
        assert resume(holder) == 0
        out, err = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, (out, err)
    assert not watcher.problems, watcher.problems[:3]
    assert watcher.reads > 100 and len(watcher.versions) >= 2
    # --force re-rendered all three: same input, same bytes
    assert published(show) == shows.new
    check_subscribers_see_a_whole_show(show, shows)


def test_a_short_wait_gives_up_with_the_same_message(
    show: Path, holder: subprocess.Popen[bytes]
) -> None:
    began = time.monotonic()
    second = reviewcast(show, "--wait", "1.5")
    _out, err = second.communicate(timeout=60)
    assert second.returncode == 1 and REFUSAL.search(err), err
    assert time.monotonic() - began >= 1.5


def test_lock_of_a_killed_run_is_stale(show: Path, shows: Fixture, tmp_path: Path) -> None:
    log = tmp_path / "killed.log"
    first = start(show, log, stop_at=HOLD)
    wait_for_line(log, first, HOLD, limit=60)
    kill(first)
    left = show / LOCK_PATH
    assert left.read_text() == str(first.pid)  # the lock file is still there, naming the dead
    next_run = reviewcast(show)
    out, err = next_run.communicate(timeout=120)
    assert next_run.returncode == 0, (out, err)
    assert published(show) == shows.new
    assert not left.exists()


def test_lock_naming_a_live_unrelated_process_is_not_held(show: Path, shows: Fixture) -> None:
    """pids are reused: a stale lock file may name a process that is alive but is no render."""
    (show / LOCK_PATH).parent.mkdir(parents=True, exist_ok=True)
    (show / LOCK_PATH).write_text(str(os.getpid()))  # this test process is alive
    run = reviewcast(show)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 0, (out, err)
    assert published(show) == shows.new


def test_runs_racing_for_a_stale_lock_let_exactly_one_in(
    show: Path, shows: Fixture, tmp_path: Path
) -> None:
    """Several runs finding the same stale lock at once: one renders, the others refuse."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (show / LOCK_PATH).parent.mkdir(parents=True, exist_ok=True)
    (show / LOCK_PATH).write_text(str(dead.pid))
    logs = [tmp_path / f"racer-{i}.log" for i in range(4)]
    racers = [start(show, log, stop_at=HOLD) for log in logs]
    deadline = time.monotonic() + 60
    # Each racer either refuses and exits, or holds the lock and stops at HOLD.
    while sum(r.poll() is not None for r in racers) < len(racers) - 1 or not any(
        log.exists() and HOLD in log.read_text() for log in logs
    ):
        assert time.monotonic() < deadline, [r.poll() for r in racers]
        time.sleep(0.01)
    holding = [
        r for r, log in zip(racers, logs, strict=True) if log.exists() and HOLD in log.read_text()
    ]
    assert len(holding) == 1, "more than one render holds the lock"
    for racer in racers:
        if racer is not holding[0]:
            assert racer.returncode == 1
            assert racer.stderr is not None and REFUSAL.search(racer.stderr.read().decode())
    assert resume(holding[0]) == 0
    assert published(show) == shows.new


# -- the lock itself --------------------------------------------------------------------------


def test_lock_refuses_a_second_holder_in_the_same_process(tmp_path: Path) -> None:
    with show_lock(tmp_path):
        assert (tmp_path / LOCK_PATH).read_text() == str(os.getpid())
        refused = pytest.raises(LockedError, match=rf"another reviewcast \(pid {os.getpid()}\)")
        with refused, show_lock(tmp_path):
            pass
    assert not (tmp_path / LOCK_PATH).exists()
    with show_lock(tmp_path):  # free again
        pass


def test_waiter_never_shares_the_lock_when_the_holder_removes_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiter that opened the lock file just before its holder removed it must not end up
    holding a lock on the removed file while a third run locks the new one."""
    opened, released, done = threading.Event(), threading.Event(), threading.Event()
    real_open = lock._open
    holding: list[bool] = []

    def open_then_pause(path: Path) -> int:
        fd = real_open(path)
        if threading.current_thread().name == "waiter" and not opened.is_set():
            opened.set()
            released.wait(10)  # the holder lets go between our open() and our flock()
        return fd

    def waiter() -> None:
        with show_lock(tmp_path, wait=10):
            holding.append(True)
            done.wait(10)

    monkeypatch.setattr(lock, "_open", open_then_pause)
    thread = threading.Thread(target=waiter, name="waiter")
    with show_lock(tmp_path):
        thread.start()
        assert opened.wait(10)
    released.set()
    deadline = time.monotonic() + 10
    while not holding:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        # The waiter holds the lock on the file that is there: a third run is refused.
        with pytest.raises(LockedError), show_lock(tmp_path):
            pass
    finally:
        done.set()
        thread.join()
