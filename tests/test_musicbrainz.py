"""The MusicBrainz client against a local server that answers like MusicBrainz: no internet."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reviewcast.errors import FetchError
from reviewcast.models import Block, Review, Tracklist
from reviewcast.musicbrainz import MusicBrainzClient
from reviewcast.tracks import resolve_tracklist

SEARCH = {
    "created": "2025-10-12T00:00:00.000Z",
    "count": 3,
    "offset": 0,
    "releases": [
        {
            "id": "bootleg-0001",
            "score": 95,
            "title": "TRON: Ares (Live)",
            "status": "Bootleg",
            "artist-credit": [{"name": "Nine Inch Nails"}],
        },
        {
            "id": "official-0002",
            "score": 100,
            "title": "TRON: Ares (Original Motion Picture Soundtrack)",
            "status": "Official",
            "artist-credit": [{"name": "Nine Inch Nails"}],
        },
        {"id": "other-0003", "score": 60, "title": "Tron", "status": "Official"},
    ],
}
RELEASE = {
    "id": "official-0002",
    "title": "TRON: Ares (Original Motion Picture Soundtrack)",
    "media": [
        {
            "position": 2,
            "tracks": [
                {"position": 2, "number": "2", "title": "Shadow Over Me"},
                {"position": 1, "number": "1", "title": "New Directive"},
            ],
        },
        {
            "position": 1,
            "tracks": [
                {"position": 1, "number": "1", "title": "Init", "recording": {"title": "Init"}},
                {"position": 2, "number": "2", "recording": {"title": "Forked Reality"}},
            ],
        },
    ],
}


@dataclass
class Server:
    url: str
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)
    # path prefix → (status, body); a float body means "sleep this long, then answer {}"
    answers: dict[str, tuple[int, bytes | float]] = field(default_factory=dict)


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            agent = self.headers.get("User-Agent", "")
            state.requests.append((parsed.path, urllib.parse.parse_qs(parsed.query), agent))
            status, body = next(
                (
                    answer
                    for prefix, answer in state.answers.items()
                    if parsed.path.startswith(prefix)
                ),
                (404, b'{"error": "Not Found"}'),
            )
            if isinstance(body, float):
                time.sleep(body)
                body = b"{}"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting: that is what the timeout test wants

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True  # a handler still sleeping for the timeout test is not awaited
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/ws/2/"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


def _client(server: Server, **options: Any) -> MusicBrainzClient:
    options.setdefault("min_interval", 0.0)
    return MusicBrainzClient(
        base_url=server.url, user_agent="reviewcast-tests/1 (t@e.st)", **options
    )


def _serve_album(server: Server) -> None:
    server.answers["/ws/2/release/official-0002"] = (200, json.dumps(RELEASE).encode())
    server.answers["/ws/2/release/"] = (200, json.dumps(SEARCH).encode())


def test_tracklist_in_medium_and_position_order_then_cached(server: Server, tmp_path: Path) -> None:
    _serve_album(server)
    cache = tmp_path / "review.musicbrainz.json"
    client = _client(server)
    album = "TRON: Ares (Original Motion Picture Soundtrack)"
    titles = client.tracklist("Nine Inch Nails", album, cache=cache)
    assert titles == ("Init", "Forked Reality", "New Directive", "Shadow Over Me")
    (search_path, search, agent), (lookup_path, lookup, _) = server.requests
    assert search_path == "/ws/2/release/"
    assert search["query"] == [f'release:"{album}" AND artist:"Nine Inch Nails"']
    assert search["fmt"] == ["json"]
    assert agent == "reviewcast-tests/1 (t@e.st)"
    assert lookup_path == "/ws/2/release/official-0002"  # the best score, not the first
    assert lookup == {"inc": ["recordings"], "fmt": ["json"]}
    stored = json.loads(cache.read_text(encoding="utf-8"))
    assert stored["titles"] == list(titles) and stored["release"] == "official-0002"
    # Offline now: a client pointing nowhere still answers from the cache.
    offline = MusicBrainzClient(base_url="http://127.0.0.1:9/", min_interval=0.0)
    assert offline.tracklist("Nine Inch Nails", album, cache=cache) == titles
    assert len(server.requests) == 2


def test_cache_for_another_album_or_damaged_is_refetched(server: Server, tmp_path: Path) -> None:
    _serve_album(server)
    cache = tmp_path / "review.musicbrainz.json"
    cache.write_text("{not json", encoding="utf-8")
    client = _client(server)
    assert client.tracklist("Nine Inch Nails", "TRON: Ares", cache=cache)
    assert client.tracklist("Nine Inch Nails", "Ghosts", cache=cache) is not None
    assert len(server.requests) == 4
    assert json.loads(cache.read_text(encoding="utf-8"))["album"] == "Ghosts"


def test_cache_dir_is_used_without_an_explicit_path(server: Server, tmp_path: Path) -> None:
    _serve_album(server)
    client = _client(server, cache_dir=tmp_path / "mb")
    first = client.tracklist("Nine Inch Nails", "TRON: Ares")
    assert first and client.tracklist("nine inch nails", "Tron: Ares") == first
    assert len(server.requests) == 2
    assert len(list((tmp_path / "mb").glob("*.musicbrainz.json"))) == 1


def test_no_good_match_is_none_and_remembered(server: Server, tmp_path: Path) -> None:
    weak = {"releases": [{"id": "x", "score": 40, "title": "Something Else"}]}
    server.answers["/ws/2/release/"] = (200, json.dumps(weak).encode())
    cache = tmp_path / "r.musicbrainz.json"
    client = _client(server)
    assert client.tracklist("Nobody", "Nothing", cache=cache) is None
    assert client.tracklist("Nobody", "Nothing", cache=cache) is None
    assert len(server.requests) == 1  # the lookup never happened, the miss was cached
    server.answers["/ws/2/release/"] = (200, b'{"releases": []}')
    assert _client(server).tracklist("Nobody", "Else") is None


def test_quotes_in_names_are_escaped(server: Server) -> None:
    server.answers["/ws/2/release/"] = (200, b'{"releases": []}')
    _client(server).tracklist('The "Band"', 'Back\\slash "Live"')
    ((_, query, _),) = server.requests
    assert query["query"] == ['release:"Back\\\\slash \\"Live\\"" AND artist:"The \\"Band\\""']


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((503, b'{"error": "busy"}'), r"HTTP 503.*busy"),
        ((500, b"oops"), r"HTTP 500"),
        ((200, b"<html>not json</html>"), r"not JSON"),
        ((200, b'{"unexpected": true}'), r"without a list of releases"),
        ((200, b"[1, 2]"), r"unexpected JSON"),
    ],
)
def test_errors_become_fetch_errors(
    server: Server, answer: tuple[int, bytes], message: str
) -> None:
    server.answers["/ws/2/release/"] = answer
    with pytest.raises(FetchError, match=message) as caught:
        _client(server).tracklist("A", "B")
    assert "--tracklist" in str(caught.value) or "JSON" in str(caught.value)


def test_timeout_and_unreachable_server(server: Server) -> None:
    server.answers["/ws/2/release/"] = (200, 1.0)
    with pytest.raises(FetchError, match=r"did not answer within 0.2 s|cannot reach"):
        _client(server, timeout=0.2).tracklist("A", "B")
    closed = MusicBrainzClient(base_url="http://127.0.0.1:9/", min_interval=0.0, timeout=2)
    with pytest.raises(FetchError, match="cannot reach MusicBrainz"):
        closed.tracklist("A", "B")


def test_requests_are_spaced(server: Server) -> None:
    _serve_album(server)
    started = time.monotonic()
    _client(server, min_interval=0.3).tracklist("Nine Inch Nails", "TRON: Ares")
    assert time.monotonic() - started >= 0.3  # two requests, one interval apart


def test_resolve_tracklist_asks_musicbrainz_and_caches_beside_the_review(
    server: Server, tmp_path: Path
) -> None:
    _serve_album(server)
    source = tmp_path / "tron.md"
    review = Review(
        source=source,
        format="markdown",
        blocks=(Block("Init is fine."),),
        artist="Nine Inch Nails",
        album="TRON: Ares",
    )
    _, tracklist = resolve_tracklist(review, musicbrainz=_client(server))
    assert tracklist == Tracklist(
        ("Init", "Forked Reality", "New Directive", "Shadow Over Me"), "musicbrainz"
    )
    assert (tmp_path / "tron.musicbrainz.json").is_file()


def test_show_setting_fetches_once_then_works_offline(
    server: Server, show: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: `musicbrainz = true` in show.toml; the answer is cached beside the review."""
    from reviewcast.cli import main

    _serve_album(server)
    toml = (show / "show.toml").read_text(encoding="utf-8")
    toml = toml.replace("musicbrainz = false", "musicbrainz = true").replace(
        'musicbrainz_url = "https://musicbrainz.org/ws/2/"', f'musicbrainz_url = "{server.url}"'
    )
    (show / "show.toml").write_text(toml, encoding="utf-8")
    review = show / "reviews" / "tron.txt"
    review.write_text(
        "Nine Inch Nails - TRON: Ares (Original Motion Picture Soundtrack) - Reviews - Site\n\n"
        '"Init" opens, and "Shadow Over Me" closes the second disc.\n',
        encoding="utf-8",
    )

    def preview() -> dict[str, Any]:
        assert main(["preview", "--show", str(show), str(review), "--json"]) == 0
        return dict(json.loads(capsys.readouterr().out))

    doc = preview()
    assert doc["tracklist"]["origin"] == "musicbrainz"
    assert [t["title"] for t in doc["tracks"]] == ["Init", "Shadow Over Me"]
    assert review.with_suffix(".musicbrainz.json").is_file()
    asked = len(server.requests)
    server.answers.clear()  # offline from now on: every request would get a 404
    assert [t["title"] for t in preview()["tracks"]] == ["Init", "Shadow Over Me"]
    assert len(server.requests) == asked


def test_unreachable_musicbrainz_renders_without_tracks_and_warns(
    show: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from reviewcast.cli import main

    toml = (show / "show.toml").read_text(encoding="utf-8")
    toml = toml.replace("musicbrainz = false", "musicbrainz = true").replace(
        'musicbrainz_url = "https://musicbrainz.org/ws/2/"',
        'musicbrainz_url = "http://127.0.0.1:9/ws/2/"',  # the discard port: nothing listens
    )
    (show / "show.toml").write_text(toml, encoding="utf-8")
    review = show / "reviews" / "r.txt"
    review.write_text("Band - Album - Reviews - Site\n\nA fine record.\n", encoding="utf-8")
    assert main(["preview", "--show", str(show), str(review), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tracklist"] is None
    assert "rendering without a tracklist" in caplog.text
