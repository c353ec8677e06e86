"""The default voice stays as intelligible as when its baseline was recorded.

A machine listener (PocketSphinx's bundled US English model) transcribes the sample review as
the packaged default voice speaks it, and the word error rate must not rise more than
TOLERANCE above the baseline in tests/data/intelligibility_baseline.json, which says how it
was measured. benchmarks/intelligibility.py does the work, in a process of its own (eSpeak can
be started once per process); BENCHMARKS.md, "Intelligibility" compares the other voices.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK = ROOT / "benchmarks" / "intelligibility.py"
BASELINE = Path(__file__).resolve().parent / "data" / "intelligibility_baseline.json"
#: How much worse than the baseline the WER may get (version drift in eSpeak or PocketSphinx).
TOLERANCE = 0.05


@pytest.mark.slow
def test_the_default_voice_is_no_less_intelligible_than_its_baseline(tmp_path: Path) -> None:
    from reviewcast.cli import main

    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    # A new show holds the packaged default voice, as a new user gets it.
    show = tmp_path / "show"
    assert main(["init", str(show), "--quiet"]) == 0
    for name in ("tron-ares-ost.txt", "tron-ares-ost.tracks.txt"):
        shutil.copy(ROOT / "reviews" / name, show / "reviews" / name)
    out = tmp_path / "result.json"
    command = [sys.executable, str(BENCHMARK), "--preset", "default"]
    command += ["--review", str(show / "reviews" / "tron-ares-ost.txt")]
    command += ["--blocks", baseline["blocks"], "--json", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    [result] = json.loads(out.read_text(encoding="utf-8"))
    assert result["sentences"] >= baseline["sentences"] - 2  # the same part of the review
    assert result["wer"] <= baseline["wer"] + TOLERANCE, (
        f"the default voice's word error rate rose from {baseline['wer']} to {result['wer']} "
        f"(words heard: {result['hypotheses']})"
    )
