"""Shared fixtures. Most tests use the deterministic 'tone' engine; the real engines have their
own tests that really synthesise (STYLE.md habit 7)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
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


def listening_socket() -> tuple[socket.socket, str]:
    """A socket bound to a free loopback port, and the base URL that names it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}/"


@contextlib.contextmanager
def serving(show_root: Path, sock: socket.socket) -> Iterator[None]:
    """`reviewcast serve`'s app under uvicorn, in a thread, on ``sock``; stopped on exit."""
    import uvicorn

    from reviewcast.serve import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(show_root), lifespan="off", log_level="warning", http="h11")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
