"""Speed and memory benchmarks of `reviewcast render`, each a ratio or a limit measured in one run.

    .venv/bin/python benchmarks/run.py                  # figures 1, 2, 4, 5, 6 (about 15 minutes)
    .venv/bin/python benchmarks/run.py --only 3,4       # 200 reviews, then the no-op over them
    .venv/bin/python benchmarks/run.py --only 3 --reviews 40 --repeat 3
    .venv/bin/python benchmarks/run.py --quick          # tiny sizes, one run each: a smoke test
    .venv/bin/python benchmarks/run.py --record         # also update the table in BENCHMARKS.md

The machine is shared and noisy, so no figure is an absolute time compared with a fixed number
where a ratio can be had instead: reviewcast is timed against the bare tools (eSpeak NG and ffmpeg
doing the least that makes a podcast-ready MP3, see bare.sh) in the same run, alternating, and
each side's median is taken. Every command is a new process; every "cold" show is a fresh copy of
the repository's sample show (its show.toml and voices/) with an empty speech cache.

Figures (issue 5):
  1  the sample review, cold, `reviewcast render` ÷ bare tools                   ≤ 1.5×
     (row 1j: the same with --jobs 1, the render's own work on one core)
  2  the same after changing only the outro template ÷ bare tools                ≤ 0.5×
  3  N generated reviews, cold: --jobs 1 ÷ --jobs 2                               ≥ 1.8×
     and --jobs 2 ÷ bare tools two at a time (xargs -P2)                          ≤ 1.0×
  4  a no-op render over that show                                                < 2 s
  5  adding one review to a show of 10,000 episodes                               < 3 s
     (and feed.write_feed alone, measured in this process)
  6  peak RSS rendering a 60-minute episode (/usr/bin/time -v)                    ≤ 150 MB
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import showgen

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SAMPLE = ROOT / "reviews" / "tron-ares-ost.txt"
SAMPLE_TRACKS = ROOT / "reviews" / "tron-ares-ost.tracks.txt"
BARE = BENCH / "bare.sh"
REPORT = ROOT / "BENCHMARKS.md"
ALL = ("1", "2", "3", "4", "5", "6")
DEFAULT = ("1", "2", "4", "5", "6")  # 3 is long: ask for it with --only
TONE_PRESET = 'engine = "tone"\nvoice = "test"\nrate = 160\n'
MB = 1024 * 1024


class BenchmarkError(Exception):
    """A benchmark could not be measured; the message says why."""


# -- running and timing commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu: float  # user + system seconds of the process and the children it waited for
    stdout: str
    stderr: str = ""


def run(cmd: Sequence[str], cwd: Path, *, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to completion; its wall time and CPU time (peak RSS: ``peak_rss``)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        # wait4 rather than Popen.wait: it also gives the rusage (CPU time of the child and
        # every descendant it waited for, ffmpeg included; for peak RSS see peak_rss).
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        if proc.returncode != 0:
            raise BenchmarkError(
                f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{stderr[-2000:]}"
            )
    return Run(seconds, usage.ru_utime + usage.ru_stime, stdout, stderr)


#: Runs a command and reports its peak RSS as `/usr/bin/time -v` does, for machines without it.
_RSS_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:])
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"\\tMaximum resident set size (kbytes): {peak}", file=sys.stderr)
sys.exit(code)
"""

_MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def peak_rss(cmd: Sequence[str], cwd: Path, *, time_v: bool) -> tuple[Run, int]:
    """Run ``cmd``; its peak RSS in bytes (its own and its descendants'), measured by
    /usr/bin/time -v when there is one, else by a small Python process around it.

    Not the ``ru_maxrss`` of this process's own ``wait4``: Linux keeps a process's peak RSS
    across fork and exec (exec saves the old memory's high-water mark), so the child of a big
    benchmark process (figure 5 loads 10,000 records into it) reports the benchmark's size.
    Only a process forked by a small one starts afresh, and `time -v` reports the figure of
    the process it forked.
    """
    if time_v:
        result = run(["/usr/bin/time", "-v", *cmd], cwd)
    else:
        result = run([sys.executable, "-c", _RSS_WRAPPER, *cmd], cwd)
    found = _MAX_RSS.findall(result.stderr)
    if not found:
        raise BenchmarkError(f"no peak RSS in the output of {' '.join(cmd)}")
    return result, int(found[-1]) * 1024


def reviewcast(*args: str) -> list[str]:
    """The `reviewcast` command of this virtualenv."""
    script = Path(sys.executable).parent / "reviewcast"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "reviewcast", *args]


def ffmpeg() -> str:
    """The ffmpeg reviewcast uses (imageio-ffmpeg's, unless one is on PATH)."""
    from reviewcast.audio import ffmpeg_exe

    return ffmpeg_exe()


def compile_bytecode() -> None:
    """Write reviewcast's .pyc files, as `pip install` does: an editable checkout run with
    PYTHONDONTWRITEBYTECODE set (as some machines and CI set it) would otherwise compile every
    module on every run, ~0.1 s that no installed user pays."""
    import compileall

    import reviewcast

    compileall.compile_dir(Path(reviewcast.__file__).parent, quiet=1)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def loadavg() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


# -- shows -----------------------------------------------------------------------------------------


@dataclass
class Context:
    work: Path
    quick: bool
    engine: str | None  # replaces the sample show's voice engine; None: as the repository has it
    repeat: int | None
    reviews: int
    bare_synth: str | None  # None: eSpeak NG
    notes: list[str] = field(default_factory=list)
    fig3_show: Path | None = None
    counter: int = 0
    #: The single review of figures 1, 2 and 5, and its tracklist.
    sample: tuple[Path, Path] = (SAMPLE, SAMPLE_TRACKS)

    def fresh(self, name: str) -> Path:
        self.counter += 1
        path = self.work / f"{self.counter:03d}-{name}"
        path.mkdir(parents=True)
        return path

    def repeats(self, normal: int) -> int:
        if self.quick:
            return 1
        return self.repeat or normal


def make_show(ctx: Context, name: str, *, engine: str | None = None, sample: bool = True) -> Path:
    """A copy of the repository's show (show.toml, voices/) with an empty cache and no episodes."""
    show = ctx.fresh(name)
    shutil.copy(ROOT / "show.toml", show / "show.toml")
    shutil.copytree(ROOT / "voices", show / "voices")
    if (ROOT / "templates").is_dir():
        shutil.copytree(ROOT / "templates", show / "templates")
    (show / "reviews").mkdir()
    engine = engine or ctx.engine
    if engine == "tone":
        (show / "voices" / "default.toml").write_text(TONE_PRESET, encoding="utf-8")
    elif engine:
        preset = (show / "voices" / "default.toml").read_text(encoding="utf-8")
        preset = re.sub(r"(?m)^engine\s*=.*$", f'engine = "{engine}"', preset)
        (show / "voices" / "default.toml").write_text(preset, encoding="utf-8")
    if sample:
        for path in ctx.sample:
            shutil.copy(path, show / "reviews")
    return show


def engine_of(show: Path) -> str:
    text = (show / "voices" / "default.toml").read_text(encoding="utf-8")
    found = re.search(r'(?m)^engine\s*=\s*"([^"]+)"', text)
    return found.group(1) if found else "?"


def body_text(show: Path, review: Path) -> str:
    """What reviewcast speaks for ``review``: its `preview --json` segments other than cues."""
    from reviewcast.cli import script_json
    from reviewcast.config import load_config
    from reviewcast.pipeline import load_script

    script = script_json(load_script(load_config(show), review))
    return "\n\n".join(s["text"] for s in script["segments"] if s["kind"] != "cue")


def bare_env(ctx: Context) -> dict[str, str]:
    env = {**os.environ, "FFMPEG": ffmpeg()}
    if ctx.bare_synth:
        env["BARE_SYNTH"] = ctx.bare_synth
    return env


# -- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    figure: str
    what: str
    target: str
    measured: str
    ratio: str
    status: str  # "pass", "MISS", "info"
    command: str


def judged(ok: bool, ctx: Context) -> str:
    status = "pass" if ok else "MISS"
    return f"{status} (quick)" if ctx.quick else status


def command_for(figure: str, ctx: Context, extra: str = "") -> str:
    parts = [".venv/bin/python benchmarks/run.py"]
    if ctx.quick:
        parts.append("--quick")
    parts.append(f"--only {figure.rstrip('j')}")
    if figure in ("3", "4") and not ctx.quick:
        parts.append(f"--reviews {ctx.reviews}")
    if ctx.repeat and not ctx.quick:
        parts.append(f"--repeat {ctx.repeat}")
    if ctx.engine and not ctx.quick:
        parts.append(f"--engine {ctx.engine}")
    if extra:
        parts.append(extra)
    return " ".join(parts)


def say(text: str) -> None:
    print(text, flush=True)


def seconds_list(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


# -- figures 1 and 2: one review, cold and after an outro change -----------------------------------


OUTRO_CHANGE = "\n\nThanks for listening, and see you next week."


def figures_1_2(ctx: Context, wanted: set[str]) -> list[Row]:
    """Alternate bare tools, a cold render and an outro-changed render, ``repeat`` times."""
    runs = ctx.repeats(5)
    bare: list[Run] = []
    cold: list[Run] = []
    cold_one: list[Run] = []  # --jobs 1: one core for the render's own work
    outro: list[Run] = []
    body_dir = ctx.fresh("bare-sample")
    probe = make_show(ctx, "sample-probe")
    review = probe / "reviews" / ctx.sample[0].name
    preview = run(reviewcast("preview", "--json", str(review)), probe)
    segments = json.loads(preview.stdout)["segments"]
    body = "\n\n".join(s["text"] for s in segments if s["kind"] != "cue")
    (body_dir / "body.txt").write_text(body, encoding="utf-8")
    engine = engine_of(probe)
    say(
        f"figures 1–2: {review.name} ({len(body.split())} words spoken), engine {engine}, "
        f"{runs} runs, {loadavg()}"
    )
    packaged_outro = (ROOT / "src" / "reviewcast" / "templates" / "outro.txt.j2").read_text("utf-8")
    for i in range(runs):
        bare.append(run(["sh", str(BARE), str(body_dir)], body_dir, env=bare_env(ctx)))
        cold_one.append(run(reviewcast("render", "--jobs", "1", "-q"), make_show(ctx, "sample-1")))
        show = make_show(ctx, "sample")
        cold.append(run(reviewcast("render", "-q"), show))
        if "2" in wanted:
            templates = show / "templates"
            templates.mkdir(exist_ok=True)
            current = templates / "outro.txt.j2"
            source = current.read_text("utf-8") if current.exists() else packaged_outro
            current.write_text(source.rstrip("\n") + OUTRO_CHANGE + "\n", encoding="utf-8")
            result = run(reviewcast("render"), show)
            if not re.search(r"(?m)^1 rendered$", result.stdout):
                raise BenchmarkError(f"changing the outro did not re-render:\n{result.stdout}")
            outro.append(result)
        say(
            f"  run {i + 1}: bare {bare[-1].seconds:.2f} s, cold {cold[-1].seconds:.2f} s "
            f"(--jobs 1: {cold_one[-1].seconds:.2f} s)"
            + (f", outro changed {outro[-1].seconds:.2f} s" if outro else "")
            + f"  ({loadavg()})"
        )
    b, b_cpu = median([r.seconds for r in bare]), median([r.cpu for r in bare])
    rows = []
    for figure, runs_of, what, limit in (
        ("1", cold, f"sample review, cold, `reviewcast render` ({engine}; 2 cores)", 1.5),
        ("1j", cold_one, f"sample review, cold, `reviewcast render --jobs 1` ({engine})", 1.5),
        ("2", outro, f"same review, only the outro template changed ({engine})", 0.5),
    ):
        if figure.rstrip("j") not in wanted:
            continue
        t, cpu = median([r.seconds for r in runs_of]), median([r.cpu for r in runs_of])
        rows.append(
            Row(
                figure,
                f"{what} ÷ bare tools (cold)",
                f"≤ {limit}×",
                f"{t:.2f} s vs {b:.2f} s (medians of {runs}; reviewcast "
                f"{seconds_list([r.seconds for r in runs_of])}; bare "
                f"{seconds_list([r.seconds for r in bare])}); CPU time {cpu:.2f} s vs "
                f"{b_cpu:.2f} s = {cpu / b_cpu:.2f}×",
                f"{t / b:.2f}×",
                judged(t / b <= limit, ctx),
                command_for(figure, ctx),
            )
        )
    return rows


# -- figure 3: a show of N reviews, parallel -------------------------------------------------------


def figure_3(ctx: Context) -> list[Row]:
    n = ctx.reviews
    runs = ctx.repeats(1)
    source = ctx.fresh("generated-reviews")
    low, high = (40, 80) if ctx.quick else (300, 900)
    generated = showgen.write_reviews(source, n, min_words=low, max_words=high, seed=3)
    words = [g.words for g in generated]
    with_tracklists = sum(1 for g in generated if g.tracklist or g.path.suffix == ".md")

    def show_with_reviews(name: str) -> Path:
        show = make_show(ctx, name, sample=False)
        shutil.rmtree(show / "reviews")
        shutil.copytree(source, show / "reviews")
        return show

    probe = show_with_reviews("fig3-probe")
    bodies = ctx.fresh("fig3-bare")
    for g in generated:
        folder = bodies / g.path.stem
        folder.mkdir()
        (folder / "body.txt").write_text(body_text(probe, probe / "reviews" / g.path.name), "utf-8")
    listing = bodies / "list.txt"
    listing.write_text("".join(f"{bodies / g.path.stem}\n" for g in generated), encoding="utf-8")
    say(
        f"figure 3: {n} reviews ({min(words)}–{max(words)} words, median {median(words):.0f}; "
        f"{with_tracklists} with metadata or a tracklist), engine {engine_of(probe)}, "
        f"{runs} runs, {loadavg()}"
    )
    one: list[Run] = []
    two: list[Run] = []
    bare: list[Run] = []
    for i in range(runs):
        xargs = ["sh", "-c", f'xargs -P2 -n1 sh "{BARE}" < "{listing}"']
        bare.append(run(xargs, bodies, env=bare_env(ctx)))
        say(f"  run {i + 1}: bare tools, xargs -P2: {bare[-1].seconds:.1f} s ({loadavg()})")
        show = show_with_reviews("fig3-jobs2")
        two.append(run(reviewcast("render", "--jobs", "2", "-q"), show))
        ctx.fig3_show = show
        say(f"  run {i + 1}: reviewcast --jobs 2: {two[-1].seconds:.1f} s ({loadavg()})")
        show = show_with_reviews("fig3-jobs1")
        one.append(run(reviewcast("render", "--jobs", "1", "-q"), show))
        say(f"  run {i + 1}: reviewcast --jobs 1: {one[-1].seconds:.1f} s ({loadavg()})")

    def med(runs_of: list[Run]) -> tuple[float, float]:
        return median([r.seconds for r in runs_of]), median([r.cpu for r in runs_of])

    (o, o_cpu), (t, t_cpu), (b, b_cpu) = med(one), med(two), med(bare)
    cores = len(os.sched_getaffinity(0))
    return [
        Row(
            "3a",
            f"{n} reviews, cold: `--jobs 1` ÷ `--jobs 2` ({cores} cores)",
            "≥ 1.8×",
            f"{o:.1f} s vs {t:.1f} s (medians of {runs}; jobs 1 "
            f"{seconds_list([r.seconds for r in one])}; jobs 2 "
            f"{seconds_list([r.seconds for r in two])}); CPU time {o_cpu:.0f} s vs {t_cpu:.0f} s",
            f"{o / t:.2f}×",
            judged(o / t >= 1.8, ctx),
            command_for("3", ctx),
        ),
        Row(
            "3b",
            f"{n} reviews, cold: `--jobs 2` ÷ bare tools two at a time (`xargs -P2`)",
            "≤ 1.0×",
            f"{t:.1f} s vs {b:.1f} s (medians of {runs}; bare "
            f"{seconds_list([r.seconds for r in bare])}); CPU time {t_cpu:.0f} s vs "
            f"{b_cpu:.0f} s = {t_cpu / b_cpu:.2f}×",
            f"{t / b:.2f}×",
            judged(t / b <= 1.0, ctx),
            command_for("3", ctx),
        ),
    ]


# -- figure 4: a no-op render ----------------------------------------------------------------------


def figure_4(ctx: Context) -> list[Row]:
    runs = ctx.repeats(5)
    if ctx.fig3_show is not None:
        show = ctx.fig3_show
        how = "the show figure 3 rendered"
    else:
        show = make_show(ctx, "fig4", sample=False)
        generated = showgen.write_reviews(show / "reviews", ctx.reviews, seed=3)
        showgen.fabricate_records(show, [g.path for g in generated])
        how = "episodes published by showgen.fabricate_records (no audio; run with 3 for real ones)"
    count = len(list((show / "episodes").glob("*/episode.json")))
    say(f"figure 4: no-op render of {count} episodes ({how}), {runs} runs, {loadavg()}")
    times = []
    for _ in range(runs):
        result = run(reviewcast("render"), show)
        if "nothing to do" not in result.stdout:
            raise BenchmarkError(f"the render over an unchanged show did work:\n{result.stdout}")
        times.append(result.seconds)
    start = [run(reviewcast("--version"), show).seconds for _ in range(runs)]
    t = median(times)
    return [
        Row(
            "4",
            f"no-op `reviewcast render` over {count} rendered reviews ({how})",
            "< 2 s",
            f"{t:.2f} s (median of {runs}: {seconds_list(times)}; `reviewcast --version` alone "
            f"{median(start):.2f} s)",
            f"{t / 2:.2f}× limit",
            judged(t < 2, ctx),
            command_for("4", ctx),
        )
    ]


# -- figure 5: one more review in a big show -------------------------------------------------------


def figure_5(ctx: Context) -> list[Row]:
    from reviewcast.artwork import ART_CACHE
    from reviewcast.config import load_config
    from reviewcast.feed import build_feed, write_feed
    from reviewcast.index import INDEX_PATH, ShowIndex
    from reviewcast.page import write_page
    from reviewcast.pipeline import find_reviews, plan
    from reviewcast.publish import collect_garbage, identity, show_artwork
    from reviewcast.records import load_records

    n = 30 if ctx.quick else 10_000
    runs = ctx.repeats(3)
    big = make_show(ctx, "fig5-big", engine="tone", sample=False)
    started = time.perf_counter()
    generated = showgen.write_reviews(big / "reviews", n, seed=5)
    showgen.fabricate_records(big, [g.path for g in generated])
    say(
        f"figure 5: {n} episodes published in {time.perf_counter() - started:.0f} s; adding the "
        f"sample review with the tone engine, {runs} runs, {loadavg()}"
    )
    empty = make_show(ctx, "fig5-empty", engine="tone", sample=False)
    # A show that has been rendered before has its cover drawn and cached already, and its
    # index (.reviewcast/index) written: a render over the fabricated episodes writes the feed
    # and the index, which the runs below keep (their reset removes only what they added).
    # The new review's episode cover is drawn in every run (its cache entry is removed below).
    primed: dict[Path, set[Path]] = {}
    for show in (big, empty):
        show_artwork(load_config(show))
        if show is big:
            time.sleep(2.1)  # the index trusts no file changed in the last two seconds
            first = run(reviewcast("render"), big)
            say(
                f"  first render of the {n} episodes, no index: {first.seconds:.2f} s (CPU "
                f"{first.cpu:.2f} s); index {(big / INDEX_PATH).stat().st_size / MB:.0f} MB"
            )
        primed[show] = set((show / ART_CACHE).rglob("*")) | {show / INDEX_PATH}
    added: list[Run] = []
    reference: list[Run] = []
    for i in range(runs):
        for show, into in ((big, added), (empty, reference)):
            for path in ctx.sample:
                shutil.copy(path, show / "reviews")
            result = run(reviewcast("render"), show)
            expected = rf"(?m)^1 rendered, {n} unchanged$" if show is big else r"(?m)^1 rendered$"
            if not re.search(expected, result.stdout):
                raise BenchmarkError(f"adding one review did not render just it:\n{result.stdout}")
            into.append(result)
            if i + 1 < runs:  # back to the show as it was: the new episode gone, the cache cold
                for path in ctx.sample:
                    (show / "reviews" / path.name).unlink()
                for record in load_records(show):
                    if record.source.endswith(ctx.sample[0].name):
                        shutil.rmtree(show / "episodes" / record.slug)
                for leftover in sorted((show / ".reviewcast").rglob("*"), reverse=True):
                    if leftover not in primed[show] and leftover.is_file():
                        leftover.unlink()
        say(
            f"  run {i + 1}: {n} episodes {added[-1].seconds:.2f} s (CPU {added[-1].cpu:.2f} s), "
            f"empty show {reference[-1].seconds:.2f} s (CPU {reference[-1].cpu:.2f} s), {loadavg()}"
        )
    noop = run(reviewcast("render"), big)
    if "nothing to do" not in noop.stdout:
        raise BenchmarkError(f"the render over an unchanged show did work:\n{noop.stdout}")
    noop_again = run(reviewcast("render"), big)  # the new episode's record is in the index now

    # The parts of that render that grow with the show, each timed alone in this process as
    # the render does them (with the show's index). CPU time: the machine is shared, and these
    # parts wait on nothing but the disk cache.
    config = load_config(big)
    parts: dict[str, list[float]] = {}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        start = time.process_time()
        result = fn()
        parts.setdefault(name, []).append(time.process_time() - start)
        return result

    artwork_url = config.base + "feed/cover.jpg"
    paths = find_reviews(config)
    for _ in range(runs):
        index = timed("index.load", lambda: ShowIndex.load(big))
        records = timed("load_records", lambda: load_records(big, index=index))  # noqa: B023
        timed("find_reviews", lambda: find_reviews(config))
        timed("plan", lambda: plan(config, paths, records, index=index))  # noqa: B023
        timed("identity", lambda: identity(config, "reviews/new.md", "New", records))  # noqa: B023
        timed("write_page", lambda: write_page(config, records, artwork_url=artwork_url))  # noqa: B023
        timed(
            "write_feed",
            lambda: write_feed(config, records, artwork_url=artwork_url, items=index),  # noqa: B023
        )
        timed("collect_garbage", lambda: collect_garbage(config, records))  # noqa: B023
    breakdown = ", ".join(f"{k} {median(v):.2f} s" for k, v in parts.items())
    say(f"  CPU time of the parts, medians of {runs}: {breakdown}")
    cold = time.process_time()
    written = build_feed(config, records, artwork_url=artwork_url)  # every item made anew
    cold = time.process_time() - cold
    if written != (big / "feed" / "feed.xml").read_bytes() or written != whole_tree_feed(
        config, records, artwork_url
    ):
        raise BenchmarkError("the feed is not the one lxml writes for the whole tree")
    say(
        "  feed.xml is the whole tree serialised, byte for byte; every item built anew "
        f"{cold:.2f} s"
    )
    a, a_cpu = median([r.seconds for r in added]), median([r.cpu for r in added])
    r, r_cpu = median([r.seconds for r in reference]), median([r.cpu for r in reference])
    feed = median(parts["write_feed"])
    sizes = (
        ", ".join(
            f"{name} {(big / 'feed' / name).stat().st_size / MB:.0f} MB"
            for name in ("feed.xml", "index.html")
        )
        + f", .reviewcast/index {(big / INDEX_PATH).stat().st_size / MB:.0f} MB"
    )
    return [
        Row(
            "5",
            f"add one review (the sample, tone engine) to a show of {n:,} episodes",
            "< 3 s",
            f"{a:.2f} s (median of {runs}: {seconds_list([x.seconds for x in added])}); into an "
            f"empty show {r:.2f} s. CPU time {a_cpu:.2f} s vs {r_cpu:.2f} s: {a_cpu - r_cpu:.2f} s "
            f"is the {n:,} episodes' cost (CPU time of the parts: {breakdown}; wrote {sizes})",
            f"{a / 3:.2f}× limit",
            judged(a < 3, ctx),
            command_for("5", ctx),
        ),
        Row(
            "5f",
            f"`feed.write_feed` alone, {n + 1:,} episodes, items from the index",
            "measured",
            f"{feed:.2f} s CPU time (median of {runs}: {seconds_list(parts['write_feed'])}); "
            f"every item built anew {cold:.2f} s",
            f"{feed / a_cpu:.2f}× of 5",
            "info",
            command_for("5", ctx),
        ),
        Row(
            "5n",
            f"no-op `reviewcast render` over the {n + 1:,}-episode show",
            "(figure 4 at this size)",
            f"{noop.seconds:.2f} s (CPU time {noop.cpu:.2f} s; it reads the new episode's record "
            f"and writes the index); again {noop_again.seconds:.2f} s (CPU time "
            f"{noop_again.cpu:.2f} s)",
            f"{noop.seconds / 2:.2f}× figure 4's limit",
            "info",
            command_for("5", ctx),
        ),
    ]


def whole_tree_feed(config: Any, records: Sequence[Any], artwork_url: str) -> bytes:
    """The feed as it was written before the index kept items: one lxml tree, serialised."""
    import lxml.etree

    from reviewcast.feed import _add_item, _aware, _channel

    ordered = sorted(records, key=lambda r: (_aware(r.pub_date), r.number), reverse=True)
    rss, doc = _channel(config, ordered, artwork_url=artwork_url)
    for record in ordered:
        _add_item(rss[0], config, record)
    data: bytes = lxml.etree.tostring(
        doc, pretty_print=True, encoding="UTF-8", xml_declaration=True
    )
    return data


# -- figure 6: memory for a long episode -----------------------------------------------------------


def figure_6(ctx: Context) -> list[Row]:
    words = 150 if ctx.quick else 9000  # the issue: ~9,000 words, 53–56 minutes here
    time_v = Path("/usr/bin/time").exists()
    rows = []
    engines: list[tuple[str | None, int]] = [("tone", ctx.repeats(3))]
    if not ctx.quick and ctx.engine != "tone":
        engines.append((ctx.engine, 1))  # the show's own voice, once: minutes of eSpeak
    for engine, runs in engines:
        peaks, walls, minutes = [], [], 0.0
        for _ in range(runs):
            show = make_show(ctx, f"fig6-{engine or 'default'}", engine=engine, sample=False)
            rng = random.Random(6)
            showgen.write_review(show / "reviews", 0, words, rng, tracklist="front matter")
            cmd = reviewcast("render", "--jobs", "1", "-q")
            result, peak_bytes = peak_rss(cmd, show, time_v=time_v)
            peaks.append(peak_bytes / MB)
            walls.append(result.seconds)
            record = json.loads(next((show / "episodes").glob("*/episode.json")).read_text())
            minutes = record["duration"] / 60
        name = engine_of(show)
        peak = max(peaks)
        say(
            f"figure 6 ({name}): {minutes:.0f}-minute episode, peak RSS "
            f"{', '.join(f'{p:.0f}' for p in peaks)} MB in {seconds_list(walls)} s"
        )
        rows.append(
            Row(
                "6a" if engine == "tone" else "6b",
                f"peak RSS, `reviewcast render --jobs 1` of a {minutes:.0f}-minute episode "
                f"({words:,} words, {name} engine)",
                "≤ 150 MB",
                f"{peak:.0f} MB (largest of {runs}; wall {seconds_list(walls)} s; "
                f"{'/usr/bin/time -v' if time_v else 'RUSAGE_CHILDREN of a small wrapper'})",
                f"{peak / 150:.2f}× limit",
                judged(peak <= 150, ctx),
                command_for("6", ctx),
            )
        )
    return rows


# -- the report ------------------------------------------------------------------------------------


def environment() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    version = subprocess.run([ffmpeg(), "-version"], capture_output=True, text=True).stdout
    espeak = shutil.which("espeak-ng")
    espeak_version = (
        subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout.strip()
        if espeak
        else "not installed"
    )
    from importlib.metadata import version as pkg

    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %cd", "--date=format:%Y-%m-%d %H:%M"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no", "src"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {cpu}, {memory:.0f} GiB, "
        f"{platform.system()} {platform.release()}; {loadavg()} at the end (the machine is shared)",
        f"- reviewcast {pkg('reviewcast')} at commit {commit or '?'}"
        f"{' with uncommitted changes in src/' if changed else ''}, "
        f"Python {platform.python_version()}, "
        f"pyttsx3 {pkg('pyttsx3')}, espeakng-loader {pkg('espeakng-loader')}, "
        f"imageio-ffmpeg {pkg('imageio-ffmpeg')}",
        f"- ffmpeg: {version.splitlines()[0] if version else '?'} ({ffmpeg()})",
        f"- bare tools' eSpeak NG: {espeak_version.split('  Data')[0]}",
    ]


HEADER = "| Figure | What | Target | Measured | Ratio | Status | Command |"
RULE = "|---|---|---|---|---|---|---|"


def table(rows: Sequence[Row]) -> list[str]:
    lines = [HEADER, RULE]
    for r in rows:
        cells = [r.figure, r.what, r.target, r.measured, r.ratio, r.status, f"`{r.command}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def record(rows: Sequence[str], env: Sequence[str]) -> None:
    """Put table ``rows`` into BENCHMARKS.md's results table (others kept) and the environment."""
    text = REPORT.read_text(encoding="utf-8")
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start not in text or end not in text:
        raise BenchmarkError(f"{REPORT} has no {start} … {end} section to update")
    before, rest = text.split(start, 1)
    old, after = rest.split(end, 1)
    kept: dict[str, str] = {}
    for line in old.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| ") and cells[0] not in ("Figure", ""):
            kept[cells[0]] = line
    for line in rows:
        kept[line.split(" | ")[0].lstrip("| ").strip()] = line
    order = sorted(kept, key=lambda f: (int(re.match(r"\d+", f).group()), f))  # type: ignore[union-attr]
    body = [HEADER, RULE, *(kept[f] for f in order), "", "Last recorded run:", "", *env]
    REPORT.write_text(before + start + "\n" + "\n".join(body) + "\n" + end + after, "utf-8")


def tone_wav(out: Path, text_file: Path) -> None:
    """Write ``text_file`` spoken by the tone engine as a WAV (the bare tools' stand-in synth)."""
    import wave

    from reviewcast.speech import VoicePreset
    from reviewcast.speech.tone_engine import SAMPLE_RATE, ToneEngine

    pcm = ToneEngine().synthesize(text_file.read_text("utf-8"), VoicePreset("t", "tone", "tone"))
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, tone engine, one run each"
    )
    parser.add_argument("--only", default=None, help="figures to run, e.g. 1,2 (default 1,2,4,5,6)")
    parser.add_argument(
        "--reviews", type=int, default=None, help="reviews in figures 3 and 4 (200)"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="runs per figure (default 5, 3, 1)"
    )
    parser.add_argument("--engine", default=None, help="the sample voice's engine: tone, espeak, …")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the shows here")
    parser.add_argument("--record", action="store_true", help="update the table in BENCHMARKS.md")
    parser.add_argument(
        "--record-log",
        type=Path,
        metavar="LOG",
        help="record the table an earlier run printed (saved to LOG), and exit",
    )
    # bare.sh's stand-in synthesiser for --quick where eSpeak NG is missing: -w OUT -f TEXT
    parser.add_argument("-w", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-f", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.w is not None and args.f is not None:
        tone_wav(args.w, args.f)
        return 0
    if args.record_log is not None:
        lines = args.record_log.read_text(encoding="utf-8").splitlines()
        if any("(quick)" in line for line in lines):
            parser.error("--quick figures are a smoke test, not measurements: never recorded")
        record(
            [line for line in lines if re.match(r"\| \d", line)],
            [line for line in lines if line.startswith("- ")],
        )
        say(f"recorded the rows of {args.record_log} in {REPORT}")
        return 0

    wanted = set((args.only or ",".join(DEFAULT)).replace(" ", "").split(","))
    if not wanted <= set(ALL):
        parser.error(f"--only takes figures among {', '.join(ALL)}")
    if args.quick and args.record:
        parser.error("--quick figures are a smoke test, not measurements: they are never recorded")
    bare_synth = None
    if shutil.which("espeak-ng") is None:
        if not args.quick:
            raise SystemExit(
                "benchmarks: eSpeak NG's command line is needed for the bare tools: "
                "apt-get update && apt-get install -y espeak-ng"
            )
        bare_synth = f'"{sys.executable}" "{Path(__file__).resolve()}"'
    work = args.workdir or Path(tempfile.mkdtemp(prefix="reviewcast-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    compile_bytecode()
    ctx = Context(
        work=work,
        quick=args.quick,
        engine="tone" if args.quick else args.engine,
        repeat=args.repeat,
        reviews=args.reviews or (2 if args.quick else 200),
        bare_synth=bare_synth,
    )
    if args.quick:  # a short review keeps the smoke test short; the figures mean nothing then
        folder = ctx.fresh("quick-review")
        made = showgen.write_review(folder, 90001, 60, random.Random(1), tracklist="beside")
        assert made.tracklist is not None
        ctx.sample = (made.path, made.tracklist)
    if bare_synth:
        say("quick: eSpeak NG is not installed; the bare tools speak with the tone engine")
    rows: list[Row] = []

    def stamped(made: list[Row]) -> list[Row]:
        # Each row says when it was measured and how busy the shared machine was meanwhile.
        stamp = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {loadavg()}"
        return [replace(r, measured=f"{r.measured} [{stamp}]") for r in made]

    try:
        if wanted & {"1", "2"}:
            rows += stamped(figures_1_2(ctx, wanted))
        if "3" in wanted:
            rows += stamped(figure_3(ctx))
        if "4" in wanted:
            rows += stamped(figure_4(ctx))
        if "5" in wanted:
            rows += stamped(figure_5(ctx))
        if "6" in wanted:
            rows += stamped(figure_6(ctx))
    except BenchmarkError as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 1
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    env = environment()
    say("")
    for line in [*table(rows), "", *env]:
        say(line)
    if args.record:
        record(table(rows)[2:], env)
        say(f"\nrecorded in {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
