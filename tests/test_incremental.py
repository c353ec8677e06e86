"""Incremental, cached and parallel renders (the tone engine keeps these fast)."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import pytest

from reviewcast.cli import main
from reviewcast.config import load_config
from reviewcast.pipeline import find_reviews, render
from reviewcast.records import load_records
from reviewcast.speak import CACHE_DIR, SpeechCache


def write_reviews(show: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = show / "reviews" / f"review-{i:02d}.md"
        path.write_text(
            f"---\ntitle: Review {i}\nartist: Band {i}\nalbum: Album {i}\n"
            f"date: 2025-01-{i + 1:02d}\ntracklist: [Opening Song, Second Song]\n---\n"
            f'The record opens with "Opening Song". It is number {i}.\n\n'
            'Then "Second Song" follows, and that is all.\n',
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def run(show: Path, *args: str) -> int:
    return main(["render", "--show", str(show), "-q", "--jobs", "1", *args])


def mtimes(show: Path) -> dict[str, int]:
    return {
        p.relative_to(show).as_posix(): p.stat().st_mtime_ns
        for p in (show / "episodes").rglob("*")
        if p.is_file()
    }


def test_unchanged_show_renders_nothing_and_says_so(
    show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_reviews(show, 2)
    assert run(show) == 0
    before = mtimes(show)
    feed_before = (show / "feed" / "feed.xml").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["render", "--show", str(show), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "0 rendered, 2 unchanged" in out and "nothing to do" in out
    assert mtimes(show) == before
    assert (show / "feed" / "feed.xml").stat().st_mtime_ns == feed_before


def test_only_changed_reviews_are_rendered_and_dry_run_says_why(
    show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = write_reviews(show, 3)
    assert run(show) == 0
    paths[1].write_text(paths[1].read_text().replace("that is all", "that is that"))
    (show / "reviews" / "review-02.toml").write_text('reviewer = "Ann"\n')
    capsys.readouterr()
    before = mtimes(show)
    assert main(["render", "--show", str(show), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "unchanged    " in out and "review-00.md" in out
    assert "would render" in out and "review-01.md: review changed" in out
    assert "review-02.md: sidecar changed" in out
    assert mtimes(show) == before  # a dry run touches nothing

    config = load_config(show)
    report = render(config, find_reviews(config), jobs=1)
    assert sorted(o.path.name for o in report.rendered) == ["review-01.md", "review-02.md"]
    assert [o.path.name for o in report.skipped] == ["review-00.md"]


def test_show_wide_changes_re_render_everything(show: Path) -> None:
    write_reviews(show, 2)
    assert run(show) == 0
    config = load_config(show)
    (show / "templates").mkdir()
    (show / "templates" / "outro.txt.j2").write_text("Goodbye from {{ show.title }}.\n")
    report = render(config, find_reviews(config), dry_run=True)
    assert [p.reasons for p in report.plans] == [("templates changed",)] * 2
    text = (show / "show.toml").read_text().replace("bitrate = 64", "bitrate = 96")
    (show / "show.toml").write_text(text)
    report = render(load_config(show), find_reviews(config), dry_run=True)
    assert all("config changed" in p.reasons for p in report.plans)
    report = render(load_config(show), find_reviews(config), force=True, jobs=1)
    assert len(report.rendered) == 2


def test_outro_change_resynthesises_only_the_outro(show: Path) -> None:
    write_reviews(show, 1)
    assert run(show) == 0
    cache = SpeechCache(show / CACHE_DIR)
    before = {p.name for p in cache.root.glob("*/*.pcm")}
    (show / "templates").mkdir()
    (show / "templates" / "outro.txt.j2").write_text("Thanks for listening to {{ show.title }}.\n")
    assert run(show) == 0
    after = {p.name for p in cache.root.glob("*/*.pcm")}
    assert len(after - before) == 1  # the one new outro sentence; intro and review came cached


def test_force_re_renders(show: Path) -> None:
    write_reviews(show, 1)
    assert run(show) == 0
    config = load_config(show)
    assert len(render(config, find_reviews(config), jobs=1).rendered) == 0
    assert len(render(config, find_reviews(config), jobs=1, force=True).rendered) == 1


def test_parallel_workers_give_the_same_episodes(show: Path, tmp_path: Path) -> None:
    write_reviews(show, 4)
    assert main(["render", "--show", str(show), "-q", "--jobs", "2"]) == 0
    parallel = {r.source: (r.slug, r.guid, r.duration, r.length) for r in load_records(show)}
    assert len(parallel) == 4
    serial_show = tmp_path / "serial"
    show.rename(serial_show)
    for folder in ("episodes", "feed"):
        for p in sorted((serial_show / folder).rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    assert run(serial_show) == 0
    serial = {r.source: (r.slug, r.guid, r.duration, r.length) for r in load_records(serial_show)}
    assert serial == parallel  # same audio, same identities, whatever the worker count


def test_any_executor_can_render(show: Path) -> None:
    """The seam: a distributed engine's executor replaces the local pool."""
    write_reviews(show, 3)
    used: list[int] = []

    def threads(jobs: int) -> cf.Executor:
        used.append(jobs)
        return cf.ThreadPoolExecutor(max_workers=jobs)  # the tone engine is thread-safe

    config = load_config(show)
    report = render(config, find_reviews(config), jobs=3, executor_factory=threads)
    assert used == [3]
    assert len(report.rendered) == 3 and not report.failed


def test_one_failing_review_does_not_stop_the_others(
    show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_reviews(show, 2)
    (show / "reviews" / "broken.md").write_text("---\ntitle: [\n---\nx\n")
    assert main(["render", "--show", str(show), "--jobs", "2"]) == 1
    captured = capsys.readouterr()
    assert "2 rendered, 1 failed" in captured.out
    assert "broken.md" in captured.err
    assert len(feedparser.parse((show / "feed" / "feed.xml").read_bytes()).entries) == 2


def test_cache_limit_prunes_least_recently_used(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path / "cache")
    paths = [cache.put(f"{i:064x}", bytes(1000)) for i in range(5)]
    for i, path in enumerate(paths):
        os.utime(path, ns=(i * 10**9, i * 10**9))
    assert cache.get(f"{0:064x}") is not None  # used now: the most recent
    assert cache.prune(2500) == 3
    assert sorted(p.name[:2] for p in cache.root.glob("*/*.pcm")) == ["00", "00"]
    assert cache.get(f"{0:064x}") is not None and cache.get(f"{4:064x}") is not None


def test_cache_clear_command(show: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_reviews(show, 1)
    assert run(show) == 0
    assert SpeechCache(show / CACHE_DIR).size() > 0
    assert main(["cache", "clear", "--show", str(show)]) == 0
    assert "cleared the cache" in capsys.readouterr().out
    assert SpeechCache(show / CACHE_DIR).size() == 0


def test_ctrl_c_publishes_finished_episodes_and_leaves_no_debris(show: Path) -> None:
    write_reviews(show, 12)
    proc = subprocess.Popen(
        [sys.executable, "-m", "reviewcast", "render", "--jobs", "1"],
        cwd=show,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C's own disposition: a suite started in the background (`pytest &` in a script)
        # ignores SIGINT, and its children inherit that, so the render would never see it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not list((show / "episodes").glob("*/episode.json")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    records = load_records(show)
    assert 1 <= len(records) < 12
    feed = feedparser.parse((show / "feed" / "feed.xml").read_bytes())
    assert not feed.bozo and len(feed.entries) == len(records)
    for entry in feed.entries:
        enclosure = entry.enclosures[0]
        local = show / enclosure.href.split("/", 3)[3]
        assert local.stat().st_size == int(enclosure.length)
    assert not (show / ".reviewcast" / "work").exists()
    assert not list(show.rglob(".tmp-*"))
    assert not (show / ".reviewcast" / "render.lock").exists()
    # the next run finishes the work
    assert run(show) == 0
    assert len(load_records(show)) == 12


def test_each_review_is_published_before_the_next_is_rendered(show: Path) -> None:
    """A crash or Ctrl-C loses at most the review in flight, and work files do not pile up."""
    write_reviews(show, 3)
    events: list[tuple[str, str]] = []
    config = load_config(show)
    render(
        config,
        find_reviews(config),
        jobs=1,
        progress=lambda path, stage, done, total: events.append((path.name, stage)),
    )
    starts = [name for name, stage in events if stage == "reading"]
    dones = [name for name, stage in events if stage == "done"]
    assert starts == dones == ["review-00.md", "review-01.md", "review-02.md"]
    for first, second in zip(dones, starts[1:], strict=False):
        assert events.index((first, "done")) < events.index((second, "reading"))


def test_a_channel_setting_rewrites_the_feed_without_re_rendering(show: Path) -> None:
    write_reviews(show, 2)
    assert run(show) == 0
    text = (show / "show.toml").read_text()
    (show / "show.toml").write_text(
        text.replace('description = "Music reviews, read aloud."', 'description = "New words."')
    )
    config = load_config(show)
    assert not any(p.needed for p in render(config, find_reviews(config), dry_run=True).plans)
    report = render(config, find_reviews(config), jobs=1)
    assert not report.rendered and report.feed is not None
    assert "New words." in (show / "feed" / "feed.xml").read_text()
    # and the next run is a true no-op: nothing rewritten
    assert render(load_config(show), find_reviews(config), jobs=1).feed is None
