"""benchmarks/run.py keeps working: every figure runs in --quick mode and lands in the table.

The quick figures are not measurements (tiny inputs, one run, the tone engine), so nothing here
compares times: speed and memory targets live in the benchmarks, never in timed unit tests.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"


def test_quick_run_measures_every_figure(tmp_path: Path) -> None:
    work = tmp_path / "work"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--quick",
            "--only",
            "1,2,3,4,5,6",
            "--workdir",
            str(work),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {
        line.split(" | ")[0].lstrip("| "): line.split(" | ")
        for line in proc.stdout.splitlines()
        if re.match(r"\| \d", line)
    }
    assert sorted(rows) == ["1", "1j", "2", "3a", "3b", "4", "5", "5f", "5n", "6a"]
    for figure, cells in rows.items():
        assert re.search(r"\d+\.\d+×", cells[4]), (figure, cells)  # a ratio was computed
        assert cells[5] in ("pass (quick)", "MISS (quick)", "info"), (figure, cells)
        assert f"--only {figure[0]}" in cells[6], (figure, cells)
    # the quick run really rendered figure 1's show (fabricated episodes hold 4 KB placeholders)
    assert [p for p in work.glob("*-sample/episodes/*/*.mp3") if p.stat().st_size > 100_000]
    assert "- machine: " in proc.stdout


def test_quick_refuses_to_record() -> None:
    before = (ROOT / "BENCHMARKS.md").read_bytes()
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--record"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "never recorded" in proc.stderr
    assert (ROOT / "BENCHMARKS.md").read_bytes() == before


def test_generated_reviews_are_deterministic_and_sized(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH))
    try:
        import showgen
    finally:
        sys.path.remove(str(BENCH))
    first = showgen.write_reviews(tmp_path / "a", 6, min_words=300, max_words=900, seed=9)
    second = showgen.write_reviews(tmp_path / "b", 6, min_words=300, max_words=900, seed=9)
    assert [g.path.read_text() for g in first] == [g.path.read_text() for g in second]
    assert all(280 <= g.words <= 960 for g in first), [g.words for g in first]
    assert {g.path.suffix for g in first} == {".md", ".txt"}
    body = showgen.review_body(random.Random(1), 400, "Album", "Artist", ["Salt Road", "Tide"])
    assert '"Salt Road"' in body or '"Tide"' in body


_BIG_PARENT = """
import os, subprocess, sys
sys.path.insert(0, sys.argv[1])
import run
ballast = bytearray(300 * 2**20)  # touched: 300 MB resident in this process
cmd = [sys.executable, "-c", "pass"]
_, peak = run.peak_rss(cmd, run.ROOT, time_v=sys.argv[2] == "time")
naive = os.wait4(subprocess.Popen(cmd).pid, 0)[2].ru_maxrss * 1024
print(peak, naive)
"""


@pytest.mark.parametrize("how", ["wrapper", "time"])
def test_peak_rss_is_the_commands_not_the_benchmarks(how: str) -> None:
    """Figure 6 once read 408 MB for a 134 MB render: Linux keeps the peak RSS across fork and
    exec, so a child of the benchmark (grown by figure 5) reported the benchmark's size."""
    if how == "time" and not Path("/usr/bin/time").exists():
        pytest.skip("Debian's time is not installed (the benchmarks use it when it is)")
    proc = subprocess.run(
        [sys.executable, "-c", _BIG_PARENT, str(BENCH), how],
        capture_output=True,
        text=True,
        check=True,
    )
    peak, naive = map(int, proc.stdout.split())
    assert peak < 100 * 2**20, peak  # `python -c pass` is ~10 MB
    assert naive > 300 * 2**20, naive  # what wait4 of the child says: the parent's 300 MB
