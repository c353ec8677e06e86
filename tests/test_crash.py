"""SIGKILL `reviewcast render` at many moments; the published show must survive every one.

The show has three reviews: A published and unchanged, B published and changed (so a kill can
interrupt the re-render of a published episode), C new. A render therefore reads, synthesises,
levels and encodes (in pieces), tags and publishes B and C, then writes the page and the feed
and collects garbage. Each kill is followed by checks of what a subscriber would see at that
instant, then by a plain `reviewcast render` that must finish the work and leave the show
byte-identical to an uninterrupted render, with no temporary files and no lock behind.

The render runs in a child process through ``drive()`` below, which calls the real command line
(``reviewcast.cli.main(["render", ...])``) after wrapping a few stage functions so that each
logs when it begins and ends. The log, written with unbuffered ``os.write``, survives the kill
and says which stage the kill hit. Kills come two ways:

* timed: the render is measured once, then killed at evenly spaced delays after it starts;
* at a named point: the child stops itself (SIGSTOP) on reaching e.g. the first tag write or the
  moment feed.xml's temporary file is complete but not yet renamed, and the test kills it
  there. Timing alone rarely lands in the short stages (tagging takes milliseconds), so this
  reaches each of them deterministically.

Reproduce one kill point by its test id, e.g.
``pytest 'tests/test_crash.py::test_kill_at_point[written:feed.xml:1]'`` or
``pytest 'tests/test_crash.py::test_kill_after_delay[3]'``; the whole matrix, and the check that
it hit every stage: ``pytest tests/test_crash.py -s`` (``-s`` prints where each kill landed).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import lxml.etree  # type: ignore[import-untyped]
import lxml.html  # type: ignore[import-untyped]
import pytest

from reviewcast.config import DEFAULT_BASE_URL

BASE = DEFAULT_BASE_URL  # the shows below keep `reviewcast init`'s base_url
ROOT = Path(__file__).resolve().parent.parent
STAGE_LOG = "RC_STAGE_LOG"
STOP_AT = "RC_STOP_AT"

pytestmark = pytest.mark.slow

# -- the child: `reviewcast render` with its stages logged ---------------------------------------

#: (module, function, stage) wrapped in the child so that each stage logs its start and end.
HOOKS = (
    ("reviewcast.pipeline", "load_script", "reading"),
    ("reviewcast.pipeline", "render_episode", "synthesis"),  # sentences, levelling, encoding
    ("reviewcast.speak", "_spoken", "sentence"),
    ("reviewcast.audio", "_level_into", "assembling"),  # a piece's sounds levelled into PCM
    ("reviewcast.audio", "_encode_piece", "encoding"),  # a piece encoded (in a thread)
    ("reviewcast.pipeline", "publish", "publishing"),
    ("reviewcast.publish", "write_tags", "tagging"),
    ("reviewcast.publish", "_move_in", "moving-audio"),
    ("reviewcast.publish", "save_record", "record"),
    ("reviewcast.page", "write_page", "page"),
    ("reviewcast.feed", "write_feed", "feed"),
    ("reviewcast.pipeline", "collect_garbage", "gc"),
)


def drive() -> None:
    """The child process: run the real CLI's ``render`` with each stage logging as it goes."""
    import importlib

    from reviewcast import fsutil
    from reviewcast.cli import main

    log = os.open(os.environ[STAGE_LOG], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    stop_at = os.environ.get(STOP_AT, "")
    seen: Counter[str] = Counter()

    def mark(event: str, stage: str) -> None:
        key = f"{event}:{stage}"
        seen[key] += 1
        # One write(2) per line: it reaches the page cache at once and survives SIGKILL.
        os.write(log, f"{time.monotonic():.6f} {key}:{seen[key]}\n".encode())
        if stop_at == f"{key}:{seen[key]}":
            os.kill(os.getpid(), signal.SIGSTOP)  # the test kills us here

    def wrap(original: Callable[..., Any], stage: str) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            mark("enter", stage)
            result = original(*args, **kwargs)
            mark("leave", stage)
            return result

        return wrapper

    for module_name, name, stage in HOOKS:
        module = importlib.import_module(module_name)
        setattr(module, name, wrap(getattr(module, name), stage))

    atomic_path = fsutil.atomic_path

    @contextlib.contextmanager
    def logged_atomic_path(target: Path, *, durable: bool = True) -> Iterator[Path]:
        with atomic_path(target, durable=durable) as tmp:
            yield tmp
            # The temporary file is complete and not yet renamed onto its target.
            mark("written", temporary_label(target))

    fsutil.atomic_path = logged_atomic_path
    # Every file counts as written long ago, so the render learns them all and writes the
    # index (.reviewcast/index) at its end, where a kill point waits for it.
    from reviewcast import index

    index.now_ns = lambda: time.time_ns() + 60 * 10**9
    mark("enter", "render")
    code = main(["render", *sys.argv[1:]])
    mark("leave", "render")
    sys.exit(code)


def temporary_label(target: Path) -> str:
    """A stable name for what an atomic write is writing: 'cache', 'episode.json', 'feed.xml'."""
    if target.parent.parent.name in ("speech", "pieces", "art") or target.suffix == ".art":
        return "cache"
    return re.sub(r"-[0-9a-f]{10}(?=\.)", "", target.name)


# -- the show -----------------------------------------------------------------------------------


def review(title: str, artist: str, date: str, tracks: list[str], body: str) -> str:
    listing = ", ".join(tracks)
    return f"---\ntitle: {title}\nartist: {artist}\nalbum: {title}\ndate: {date}\n" + (
        f"tracklist: [{listing}]\n---\n{body}\n"
    )


A = review(
    "Low Tide",
    "The Harbour Lights",
    "2025-03-01",
    ["Undertow", "Salt"],
    'It opens with "Undertow". "Salt" is the single.',
)
B_OLD = review(
    "Glass Houses",
    "Verity Lane",
    "2025-04-02",
    ["Pane", "Frost", "Morning"],
    'A quiet record. "Pane" sets the tone.',
)
B_NEW = review(
    "Glass Houses",
    "Verity Lane",
    "2025-04-02",
    ["Pane", "Frost", "Morning"],
    'A quiet record, and brave. "Pane" sets the tone.\n\n'
    '"Frost" adds strings. Then "Morning" arrives, loud and earned.',
)
C = review(
    "Northern Line",
    "Metro Nine",
    "2025-05-03",
    ["Angel", "Old Street", "Bank"],
    'From "Angel" to "Bank" in forty minutes.\n\n'
    '"Old Street" clatters. The album ends where it should.',
)


def make_show(root: Path) -> None:
    """A show with A and B (old) published, then B changed and C added: the state we kill in."""
    from reviewcast.cli import main

    assert main(["init", str(root), "--title", "Spin Cycle", "--quiet"]) == 0
    (root / "voices" / "default.toml").write_text(
        'engine = "tone"\nvoice = "test"\nrate = 160\n', encoding="utf-8"
    )
    (root / "reviews" / "a.md").write_text(A, encoding="utf-8")
    (root / "reviews" / "b.md").write_text(B_OLD, encoding="utf-8")
    assert main(["render", "--show", str(root), "-q", "--jobs", "1"]) == 0
    (root / "reviews" / "b.md").write_text(B_NEW, encoding="utf-8")
    (root / "reviews" / "c.md").write_text(C, encoding="utf-8")


def published(show: Path) -> dict[str, str]:
    """Every file under episodes/ and feed/ and its SHA-256: all that subscribers can see."""
    out = {}
    for folder in ("episodes", "feed"):
        for path in sorted((show / folder).rglob("*")):
            if path.is_file():
                rel = path.relative_to(show).as_posix()
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@dataclass(frozen=True)
class Fixture:
    before: Path  # the show to copy for each kill
    old: dict[str, str]  # published files before the render
    new: dict[str, str]  # published files after an uninterrupted render
    duration: float  # seconds from the start of render() to its end, measured


def build_shows(base: Path) -> Fixture:
    """The show to break, and what a whole render of it publishes (measured with ``drive``)."""
    before = base / "before"
    make_show(before)
    reference = base / "reference"
    shutil.copytree(before, reference, symlinks=True)
    result = run_render(reference, base / "reference.log")
    assert result.returncode == 0, result.stderr
    events = read_log(base / "reference.log")
    duration = events[-1].time - events[0].time
    return Fixture(before, published(before), published(reference), duration)


@pytest.fixture(scope="module")
def shows(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return build_shows(tmp_path_factory.mktemp("crash"))


# -- running and killing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    time: float
    kind: str  # enter, leave, written
    stage: str
    count: int


def read_log(path: Path) -> list[Event]:
    events = []
    for line in path.read_text().splitlines():
        stamp, key = line.split(" ", 1)
        kind, rest = key.split(":", 1)
        stage, count = rest.rsplit(":", 1)
        events.append(Event(float(stamp), kind, stage, int(count)))
    return events


def render_command() -> list[str]:
    return [sys.executable, "-c", "from tests.test_crash import drive; drive()"]


def child_env(log: Path, stop_at: str = "") -> dict[str, str]:
    env = {**os.environ, STAGE_LOG: str(log), STOP_AT: stop_at}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


RENDER_ARGS = ["render", "--jobs", "1", "-q"]


def run_render(show: Path, log: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*render_command(), *RENDER_ARGS[1:]],
        cwd=show,
        env=child_env(log),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start(
    show: Path, log: Path, stop_at: str = "", extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """Start ``drive`` on ``show``; with ``stop_at``, it stops itself (SIGSTOP) at that point."""
    return subprocess.Popen(
        [*render_command(), *RENDER_ARGS[1:], *extra],
        cwd=show,
        env=child_env(log, stop_at),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for_line(log: Path, proc: subprocess.Popen[bytes], wanted: str, limit: float) -> None:
    """Poll the child's log until a line ends with ``wanted``."""
    deadline = time.monotonic() + limit
    while True:
        if log.exists() and any(
            line.endswith(" " + wanted) for line in log.read_text().splitlines()
        ):
            return
        if proc.poll() is not None:
            stderr = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"the render ended (code {proc.returncode}) before {wanted}: {stderr}")
        assert time.monotonic() < deadline, f"{wanted} not reached in {limit} s"
        time.sleep(0.002)


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the render finished before it could be killed"


def stage_hit(events: list[Event]) -> str:
    """Where the kill landed: the innermost stage still open when the log stopped, or which
    stage had just ended ('after encoding') when none was."""
    names = {"sentence": "synthesis", "moving-audio": "publishing"}
    open_stages: list[str] = []
    last_left = ""
    for event in events:
        if event.kind == "enter":
            open_stages.append(event.stage)
        elif event.kind == "leave" and event.stage in open_stages:
            open_stages.remove(event.stage)
            last_left = event.stage
    if not open_stages:
        return "starting" if not events else "finishing"
    if open_stages[-1] != "render":
        return names.get(open_stages[-1], open_stages[-1])
    return f"after {names.get(last_left, last_left)}" if last_left else "starting"


# -- what must hold -----------------------------------------------------------------------------


def local(url: str) -> str:
    assert url.startswith(BASE), url
    return urlsplit(url).path.lstrip("/")


def check_subscribers_see_a_whole_show(show: Path, fx: Fixture) -> None:
    """The feed and page as they are right after a kill: whole, valid, nothing lost or doubled."""
    data = (show / "feed" / "feed.xml").read_bytes()
    lxml.etree.fromstring(data)  # strict XML: raises on a truncated or interleaved feed
    feed = feedparser.parse(data)
    assert not feed.bozo, feed.bozo_exception
    guids = [entry.id for entry in feed.entries]
    assert len(guids) == len(set(guids)), f"duplicated episode: {guids}"
    old_feed = feedparser.parse((fx.before / "feed" / "feed.xml").read_bytes())
    assert {e.id for e in old_feed.entries} <= set(guids), "a published episode was lost"
    for entry in feed.entries:
        (enclosure,) = entry.enclosures
        path = show / local(enclosure.href)
        assert path.is_file(), f"{entry.title}: enclosure {enclosure.href} is missing"
        assert path.stat().st_size == int(enclosure.length), f"{entry.title}: wrong length"
    # Every file the feed or the page points at exists and is one that a whole render wrote.
    root = lxml.etree.fromstring(data)
    urls = {v for el in root.iter() for k, v in el.attrib.items() if k in ("url", "href")}
    page = lxml.html.fromstring((show / "feed" / "index.html").read_bytes())
    urls |= {
        BASE + "feed/" + v
        for el in page.iter()
        for k, v in el.attrib.items()
        if k in ("src", "href") and v.startswith("../episodes/")
    }
    for url in sorted(u for u in urls if u.startswith(BASE)):
        rel = os.path.normpath(local(url))
        if rel in ("feed/feed.xml", "feed", "."):
            continue
        digest = hashlib.sha256((show / rel).read_bytes()).hexdigest()
        assert digest in (fx.old.get(rel), fx.new.get(rel)), f"{rel} is not a whole file"


def check_next_run_finishes(show: Path, fx: Fixture) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reviewcast", *RENDER_ARGS],
        cwd=show,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert published(show) == fx.new, "the next run did not finish the work"
    leftovers = [p.relative_to(show).as_posix() for p in show.rglob(".tmp-*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"
    assert not (show / ".reviewcast" / "work").exists()
    assert not (show / ".reviewcast" / "render.lock").exists()


# -- the kill matrix ----------------------------------------------------------------------------

#: Kills at named points, as (event):(stage):(occurrence). The audio of B is made before C's;
#: which of the two is published first is up to the executor.
POINTS = [
    "enter:reading:1",
    "enter:sentence:5",  # B's synthesis under way, its first sentences cached
    "written:cache:2",  # a cache entry complete, not yet renamed
    "enter:assembling:1",
    "enter:encoding:1",
    "leave:encoding:1",  # B's first piece encoded and cached, the rest still to come
    "enter:reading:2",
    "enter:sentence:9",  # C's synthesis, while its first piece is being encoded
    "enter:encoding:2",
    "enter:publishing:1",
    "enter:tagging:1",
    "leave:tagging:1",  # tags written into the work copy, not yet moved in
    "leave:moving-audio:1",  # a new MP3 in place, its record still the old one (or none)
    "written:transcript.vtt:1",
    "written:episode.json:1",  # a record complete, not yet renamed: the commit point
    "leave:record:1",  # one episode committed, the other not yet
    "enter:tagging:2",
    "written:episode.json:2",
    "leave:record:2",  # both committed, page and feed still the old ones
    "written:index.html:1",
    "leave:page:1",  # new page, old feed
    "written:feed.xml:1",
    "enter:gc:1",  # new feed, superseded files not yet removed
    "written:index:1",  # all done but the index (a cache) not yet in place
]
TIMED_KILLS = 8
#: The stages the kills must have hit, by timing or at named points.
REQUIRED = {
    "reading",
    "synthesis",
    "assembling",
    "encoding",
    "publishing",
    "tagging",
    "record",
    "page",
    "feed",
    "gc",
}

#: Where each kill landed, by test id; checked by the last test.
hits: dict[str, str] = {}


def fresh(fx: Fixture, tmp_path: Path) -> Path:
    show = tmp_path / "show"
    shutil.copytree(fx.before, show, symlinks=True)
    return show


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_point(point: str, shows: Fixture, tmp_path: Path) -> None:
    show = fresh(shows, tmp_path)
    log = tmp_path / "stages.log"
    proc = start(show, log, stop_at=point)
    wait_for_line(log, proc, point, limit=60)
    kill(proc)
    hits[f"point {point}"] = stage_hit(read_log(log))
    check_subscribers_see_a_whole_show(show, shows)
    check_next_run_finishes(show, shows)


@pytest.mark.parametrize("n", range(TIMED_KILLS))
def test_kill_after_delay(n: int, shows: Fixture, tmp_path: Path) -> None:
    """Kill at n+½ eighths of a measured render; on a busy machine a render may be quicker than
    measured, so a render that ends first is tried again with half the delay."""
    delay = shows.duration * (n + 0.5) / TIMED_KILLS
    for _attempt in range(4):
        show = fresh(shows, tmp_path)
        log = tmp_path / "stages.log"
        log.unlink(missing_ok=True)
        proc = start(show, log)
        wait_for_line(log, proc, "enter:render:1", limit=60)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        if proc.wait(timeout=30) == -signal.SIGKILL:
            break
        shutil.rmtree(show)
        delay /= 2
    else:
        pytest.fail(f"every render ended before its kill (last delay {delay:.2f} s)")
    hits[f"delay {n}"] = stage_hit(read_log(log))
    check_subscribers_see_a_whole_show(show, shows)
    check_next_run_finishes(show, shows)


def descendants(pid: int) -> set[int]:
    """The processes ``pid`` started, and theirs (from /proc: Linux)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        children = {child for child, ppid in parents.items() if ppid == parent}
        todo.extend(children - found)
        found |= children
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited child nobody reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_kill_leaves_no_worker_processes(shows: Fixture, tmp_path: Path) -> None:
    """With --jobs 2 the audio is made in worker processes; a SIGKILLed render must not leave
    them behind, rendering on or waiting for work that never comes."""
    show = fresh(shows, tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewcast", "render", "--jobs", "2", "-q"],
        cwd=show,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    work = show / ".reviewcast" / "work"
    deadline = time.monotonic() + 60
    while not list(work.glob("*/piece-*.pcm")):  # a worker is levelling a piece
        assert proc.poll() is None and time.monotonic() < deadline, "no worker started"
        time.sleep(0.01)
    workers = descendants(proc.pid)
    assert len(workers) >= 2, workers
    kill(proc)
    hits["workers"] = "assembling"
    check_subscribers_see_a_whole_show(show, shows)
    deadline = time.monotonic() + 30
    while left := {pid for pid in workers if running(pid)}:
        if time.monotonic() > deadline:
            for pid in left:  # do not leave them to the next test either
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            pytest.fail(f"worker processes outlived the render by 30 s: {sorted(left)}")
        time.sleep(0.1)
    check_next_run_finishes(show, shows)


def test_kills_covered_every_stage() -> None:
    """Runs last (pytest keeps file order): the kills above hit every stage of a render."""
    assert len(hits) == len(POINTS) + TIMED_KILLS + 1, "run the whole file to check coverage"
    print("\n".join(f"{test}: {stage}" for test, stage in hits.items()))  # shown with -s
    missing = REQUIRED - set(hits.values())
    assert not missing, f"no kill landed in {sorted(missing)}: {hits}"
