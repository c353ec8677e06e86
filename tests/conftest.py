"""Shared fixtures. Most tests use the deterministic 'tone' engine; the real engines have their
own tests that really synthesise (STYLE.md habit 7)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "reviews"  # the repository's own show holds the sample review and tracklist
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def show(tmp_path: Path) -> Path:
    """A fresh show made by `reviewcast init`, with the fast deterministic tone voice."""
    from reviewcast.cli import main

    root = tmp_path / "show"
    assert main(["init", str(root), "--title", "Spin Cycle", "--quiet"]) == 0
    (root / "voices" / "default.toml").write_text(
        'engine = "tone"\nvoice = "test"\nrate = 160\n', encoding="utf-8"
    )
    return root


@pytest.fixture
def sample_review(show: Path) -> Path:
    """The bundled sample review and its tracklist, copied into ``show``'s reviews/."""
    for name in ("tron-ares-ost.txt", "tron-ares-ost.tracks.txt"):
        shutil.copy(SAMPLES / name, show / "reviews" / name)
    return show / "reviews" / "tron-ares-ost.txt"
