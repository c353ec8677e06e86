"""`reviewcast serve`: published files only, byte ranges and caching as podcast apps use them.

Most tests use Starlette's TestClient; the ones at the end start the real server (serve(),
uvicorn) in a subprocess on a free loopback port and send raw requests, so that uvicorn's own
request parsing is tested too (TestClient would normalise paths such as /a/%2e%2e/b).
"""

from __future__ import annotations

import email.parser
import email.policy
import http.client
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from reviewcast.config import load_config, render_show_toml
from reviewcast.errors import ReviewcastError
from reviewcast.serve import create_app, local_base, parse_range, points_here, serve
from reviewcast.site import build_site

AUDIO = bytes((i * 7 + i // 256) % 256 for i in range(5000))
SECRET = b"SECRET-REVIEW-TEXT"
EP = "/episodes/spin-cycle"
MP3 = f"{EP}/spin-cycle-0123456789.mp3"


def make_show(root: Path, **settings: object) -> Path:
    """A show folder with published files, private files, a temporary file and a symlink out."""
    root.mkdir(parents=True)
    (root / "show.toml").write_text(render_show_toml(title="T & Co", **settings), encoding="utf-8")
    ep = root / "episodes" / "spin-cycle"
    ep.mkdir(parents=True)
    (ep / "spin-cycle-0123456789.mp3").write_bytes(AUDIO)
    (ep / "cover-0123456789.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    (ep / "chapters-0123456789.json").write_text('{"version": "1.2.0", "chapters": []}')
    (ep / "transcript-0123456789.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHi\n")
    (ep / "transcript-0123456789.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nHi\n")
    (ep / "episode.json").write_bytes(b'{"source": "reviews/secret.md", "x": "' + SECRET + b'"}')
    (ep / ".tmp-spin-cycle-0123456789.mp3.abc").write_bytes(SECRET)
    (ep / "notes.bak").write_bytes(SECRET)
    (ep / "empty-0000000000.mp3").write_bytes(b"")
    (ep / "alias.mp3").symlink_to("spin-cycle-0123456789.mp3")  # inside: served
    outside = root.parent / f"{root.name}-outside.txt"
    outside.write_bytes(SECRET)
    (ep / "leak.mp3").symlink_to(outside)  # out of the published folder: never served
    (ep / "leak-show.xml").symlink_to(root / "show.toml")
    (root / "feed").mkdir()
    (root / "feed" / "feed.xml").write_text('<?xml version="1.0"?><rss version="2.0"/>')
    (root / "feed" / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (root / "feed" / ".tmp-feed.xml.x").write_bytes(SECRET)
    (root / "reviews").mkdir()
    (root / "reviews" / "secret.md").write_bytes(SECRET)
    (root / "templates").mkdir()
    (root / "templates" / "intro.txt").write_bytes(SECRET)
    (root / ".reviewcast").mkdir()
    (root / ".reviewcast" / "lock").write_bytes(SECRET)
    return root


@pytest.fixture
def show(tmp_path: Path) -> Path:
    return make_show(tmp_path / "show")


@pytest.fixture
def client(show: Path) -> Iterator[TestClient]:
    with TestClient(create_app(show), follow_redirects=False) as c:
        yield c


# -- types, bodies, headers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        (MP3, "audio/mpeg"),
        (f"{EP}/cover-0123456789.jpg", "image/jpeg"),
        (f"{EP}/chapters-0123456789.json", "application/json+chapters"),
        (f"{EP}/transcript-0123456789.vtt", "text/vtt"),
        (f"{EP}/transcript-0123456789.srt", "application/x-subrip"),
        ("/feed/feed.xml", "application/rss+xml"),
        ("/feed/cover.png", "image/png"),
    ],
)
def test_published_files_with_their_types_and_cors(
    client: TestClient, show: Path, path: str, content_type: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.content == (show / path.lstrip("/")).read_bytes()
    assert r.headers["content-type"].split(";")[0] == content_type
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-length"] == str(len(r.content))
    assert r.headers["etag"] and r.headers["last-modified"]


def test_feed_is_revalidated_and_audio_is_not_forced_to(client: TestClient) -> None:
    assert client.get("/feed/feed.xml").headers["cache-control"] == "no-cache"
    assert "cache-control" not in client.get(MP3).headers


def test_symlink_inside_the_published_folder_is_served(client: TestClient) -> None:
    r = client.get(f"{EP}/alias.mp3")
    assert r.status_code == 200
    assert r.content == AUDIO


# -- byte ranges -----------------------------------------------------------------------------

SIZE = len(AUDIO)
HUGE = "9" * 30


@pytest.mark.parametrize(
    ("range_header", "first", "last"),
    [
        ("bytes=0-", 0, SIZE - 1),  # what Apple Podcasts and most apps send first
        ("bytes=0-1", 0, 1),  # Apple's probe
        ("bytes=0-0", 0, 0),
        ("bytes=100-199", 100, 199),
        ("bytes=4999-", 4999, 4999),
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=-99999", 0, SIZE - 1),
        (f"bytes=10-{HUGE}", 10, SIZE - 1),
        ("bytes=0-" + "9" * 5000, 0, SIZE - 1),  # Starlette defect 4: more than 4300 digits
        ("Bytes=7-8", 7, 8),  # the unit is case-insensitive
        ("bytes=0-1,6000-", 0, 1),  # Starlette defect 3: one satisfiable range is enough
        ("bytes=0-9,5-20", 0, 20),  # overlapping ranges merge into one
    ],
)
def test_satisfiable_range_gives_206(
    client: TestClient, range_header: str, first: int, last: int
) -> None:
    r = client.get(MP3, headers={"Range": range_header})
    assert r.status_code == 206
    assert r.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert r.content == AUDIO[first : last + 1]
    assert r.headers["content-length"] == str(last - first + 1)
    assert r.headers["content-type"] == "audio/mpeg"


@pytest.mark.parametrize(
    "range_header",
    ["bytes=5000-", "bytes=6000-7000", f"bytes={HUGE}-", "bytes=-0", "bytes=5000-,-0"],
)
def test_unsatisfiable_range_gives_416_with_the_size(client: TestClient, range_header: str) -> None:
    r = client.get(MP3, headers={"Range": range_header})
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{SIZE}"
    assert AUDIO[:50] not in r.content


@pytest.mark.parametrize(
    "range_header",
    [
        "bytes=abc",
        "bytes=5-1",  # Starlette defect 2: last before first makes the header invalid
        "bytes=",
        "bytes",
        "bytes=0-5,abc",
        "bytes=1-2-3",
        "bytes=--5",
        "bytes=0x10-",
        "items=0-5",  # Starlette defect 1: an unknown unit MUST be ignored
        "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 40, 2)),  # 20 ranges: ignored
        "",
    ],
)
def test_invalid_range_is_ignored_and_the_whole_file_sent(
    client: TestClient, range_header: str
) -> None:
    r = client.get(MP3, headers={"Range": range_header})
    assert r.status_code == 200
    assert r.content == AUDIO
    assert "content-range" not in r.headers


def test_range_on_an_empty_file_sends_the_empty_file(client: TestClient) -> None:
    r = client.get(f"{EP}/empty-0000000000.mp3", headers={"Range": "bytes=0-"})
    assert r.status_code == 200
    assert r.content == b""


def test_several_ranges_give_a_correct_multipart_answer(client: TestClient) -> None:
    r = client.get(MP3, headers={"Range": "bytes=0-1, 100-109,-3"})
    assert r.status_code == 206
    assert r.headers["content-length"] == str(len(r.content))
    ctype = r.headers["content-type"]
    assert ctype.startswith("multipart/byteranges; boundary=")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + r.content
    )
    parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in message.iter_parts()]
    assert parts == [
        (f"bytes 0-1/{SIZE}", AUDIO[0:2]),
        (f"bytes 100-109/{SIZE}", AUDIO[100:110]),
        (f"bytes {SIZE - 3}-{SIZE - 1}/{SIZE}", AUDIO[-3:]),
    ]


def test_if_range_sends_the_part_only_while_the_file_is_unchanged(client: TestClient) -> None:
    etag = client.get(MP3).headers["etag"]
    same = client.get(MP3, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert (same.status_code, same.content) == (206, AUDIO[:10])
    changed = client.get(MP3, headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert (changed.status_code, changed.content) == (200, AUDIO)
    # An unsatisfiable range of a changed file: the whole new file, not 416.
    changed = client.get(MP3, headers={"Range": "bytes=9000-", "If-Range": '"old"'})
    assert changed.status_code == 200


@settings(max_examples=300, deadline=None)
@given(header=st.text(alphabet="bytes=-0123456789, \t;x", max_size=40), size=st.integers(0, 10))
def test_parse_range_never_fails_and_stays_inside_the_file(header: str, size: int) -> None:
    ranges = parse_range(header, size)
    for first, last in ranges or []:
        assert 0 <= first <= last < size


# -- HEAD and conditional requests -----------------------------------------------------------


@pytest.mark.parametrize("range_header", [None, "bytes=10-19"])
def test_head_answers_like_get_without_a_body(client: TestClient, range_header: str | None) -> None:
    headers = {"Range": range_header} if range_header else {}
    get = client.get(MP3, headers=headers)
    head = client.head(MP3, headers=headers)
    assert head.status_code == get.status_code
    assert head.content == b""
    for name in ("content-length", "content-type", "etag", "last-modified", "content-range"):
        assert head.headers.get(name) == get.headers.get(name)


def test_conditional_get_gives_304(client: TestClient) -> None:
    first = client.get(MP3)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    for headers in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},
        {"If-Modified-Since": modified},
        {"If-None-Match": etag, "Range": "bytes=0-9"},  # RFC 9110 §13.2.2: 304 before Range
    ):
        r = client.get(MP3, headers=headers)
        assert r.status_code == 304, headers
        assert r.content == b""
        assert r.headers["etag"] == etag
    for headers in (
        {"If-None-Match": '"other"'},
        {"If-None-Match": '"other"', "If-Modified-Since": modified},  # ETag wins
        {"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
    ):
        r = client.get(MP3, headers=headers)
        assert (r.status_code, r.content) == (200, AUDIO), headers


def test_a_changed_file_has_a_new_etag(client: TestClient, show: Path) -> None:
    feed = show / "feed" / "feed.xml"
    before = client.get("/feed/feed.xml").headers["etag"]
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    os.utime(feed, (time.time() + 5, time.time() + 5))
    r = client.get("/feed/feed.xml", headers={"If-None-Match": before})
    assert r.status_code == 200
    assert r.headers["etag"] != before


# -- nothing private -------------------------------------------------------------------------

HIDDEN = [
    "/show.toml",
    "/reviews/secret.md",
    "/templates/intro.txt",
    "/.reviewcast/lock",
    f"{EP}/episode.json",
    f"{EP}/.tmp-spin-cycle-0123456789.mp3.abc",
    "/feed/.tmp-feed.xml.x",
    f"{EP}/notes.bak",
    f"{EP}/leak.mp3",
    f"{EP}/leak-show.xml",
    "/episodes/",
    f"{EP}/",
    EP,
    "/episodes/spin-cycle%2fspin-cycle-0123456789.mp3",  # an encoded slash, even to a real file
    "/episodes/spin-cycle%2Fspin-cycle-0123456789.mp3",
    f"{EP}%5cspin-cycle-0123456789.mp3",
    f"{EP}/spin-cycle-0123456789.mp3%00",
    f"{EP}/spin-cycle-0123456789.mp3%00.mp3",
    "/episodes/%2e%2e/show.toml",
    "/episodes/%2E%2E/reviews/secret.md",
    f"{EP}/%2e%2e/spin-cycle/spin-cycle-0123456789.mp3",  # '..' even when it stays inside
    f"{EP}/%2e/spin-cycle-0123456789.mp3",
    "/episodes/..%2fshow.toml",
    "/episodes/%2fetc%2fpasswd",
    "/episodes//etc/passwd",
    "/episodes/%2Fetc/passwd",
    "/feed/%5c..%5cshow.toml",
    "/feed/..%5cshow.toml",
    "/episodes/" + "a" * 300 + ".mp3",  # a name too long for the file system
]


@pytest.mark.parametrize("path", HIDDEN)
def test_private_and_odd_paths_are_404(client: TestClient, path: str) -> None:
    for method in ("GET", "HEAD"):
        r = client.request(method, path)
        assert r.status_code == 404, (method, path)
        assert SECRET not in r.content
        assert AUDIO[:64] not in r.content


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "TRACE", "BREW"])
def test_other_methods_get_405(client: TestClient, method: str) -> None:
    r = client.request(method, MP3)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD, OPTIONS"


def test_cors_preflight(client: TestClient) -> None:
    r = client.options(
        f"{EP}/chapters-0123456789.json",
        headers={"Origin": "https://player.example", "Access-Control-Request-Method": "GET"},
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "*"
    assert "GET" in r.headers["access-control-allow-methods"]


def test_very_long_url_gets_414(client: TestClient) -> None:
    assert client.get("/feed/" + "a" * 5000).status_code == 414


def test_a_show_without_episodes_yet_answers_404_not_500(tmp_path: Path) -> None:
    root = tmp_path / "new"
    root.mkdir()
    (root / "show.toml").write_text(render_show_toml(title="New"), encoding="utf-8")
    with TestClient(create_app(root)) as c:
        assert c.get(MP3).status_code == 404
        assert c.get("/feed/feed.xml").status_code == 404
        assert c.get("/feed/").status_code == 200


# -- the site's pages and the base_url path --------------------------------------------------


def test_root_redirects_to_the_feed_page(client: TestClient) -> None:
    r = client.get("/")
    assert (r.status_code, r.headers["location"]) == (302, "feed/")
    assert client.get("/feed").status_code in (301, 302, 307, 308)


def test_feed_page_is_index_html_when_there_is_one(client: TestClient, show: Path) -> None:
    page = client.get("/feed/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>T &amp; Co</h1>" in page.text  # escaped
    assert 'href="feed.xml"' in page.text
    (show / "feed" / "index.html").write_text("<p>the show's own page</p>")
    page = client.get("/feed/")
    assert page.text == "<p>the show's own page</p>"
    assert client.get("/feed/index.html").text == page.text


def test_served_under_the_base_url_path_too(tmp_path: Path) -> None:
    root = make_show(tmp_path / "show", base_url="http://127.0.0.1:8000/podcast/")
    config = load_config(root)
    with TestClient(create_app(root), follow_redirects=False) as c:
        assert config.feed_url.endswith("/podcast/feed/feed.xml")
        for path in ("/podcast/feed/feed.xml", "/feed/feed.xml"):
            assert c.get(path).status_code == 200
        assert c.get("/podcast" + MP3, headers={"Range": "bytes=0-1"}).status_code == 206
        assert c.get("/podcast/").headers["location"] == "feed/"
        assert c.get("/podcast/reviews/secret.md").status_code == 404
        assert c.get("/podcast/show.toml").status_code == 404


def test_serves_exactly_what_build_writes(show: Path, tmp_path: Path, client: TestClient) -> None:
    site = build_site(show, tmp_path / "site")
    built = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert built  # the show has published files
    for path in sorted(show.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        rel = path.relative_to(show).as_posix()
        status = client.get("/" + rel).status_code
        assert (status == 200) == (rel in built), rel


# -- start-up --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "host", "port", "expected"),
    [
        ("http://127.0.0.1:8000/", "127.0.0.1", 8000, True),
        ("http://localhost:8000/podcast/", "127.0.0.1", 8000, True),
        ("http://127.0.0.1/", "127.0.0.1", 80, True),
        ("http://127.0.0.1:8000/", "127.0.0.1", 8001, False),
        ("https://127.0.0.1:8000/", "127.0.0.1", 8000, False),
        ("https://example.org/podcast/", "127.0.0.1", 8000, False),
        ("http://example.org:8000/", "127.0.0.1", 8000, False),
        ("http://mybox.lan:8000/", "0.0.0.0", 8000, True),
        ("http://[::1]:8000/", "::1", 8000, True),
    ],
)
def test_points_here(base: str, host: str, port: int, expected: bool) -> None:
    assert points_here(base, host, port) is expected


def test_local_base() -> None:
    assert local_base("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert local_base("::1", 9) == "http://[::1]:9/"


def test_a_busy_port_is_a_user_error(show: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ReviewcastError, match=f"--port {port + 1}"):
            serve(load_config(show), port=port)


# -- the real server -------------------------------------------------------------------------

TIMEOUT = 10.0


class Server:
    """`serve()` in a subprocess, as `reviewcast serve` runs it."""

    def __init__(self, root: Path, port: int = 0) -> None:
        code = textwrap.dedent(
            f"""
            from pathlib import Path
            from reviewcast.config import load_config
            from reviewcast.serve import serve
            serve(load_config(Path({str(root)!r})), host="127.0.0.1", port={port})
            print("STOPPED", flush=True)
            """
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # Reader threads: a pipe that fills up would stall the server, and reads get a deadline.
        self.lines: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()
        self.banner = [self.readline(), self.readline()]
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", self.banner[0])
        assert found, self.banner
        self.port = int(found[1])

    def _pump(self, stream: IO[str] | None, sink: list[str]) -> None:
        assert stream is not None
        for line in stream:
            sink.append(line)
            if sink is self.out:
                self.lines.put(line)

    def readline(self) -> str:
        try:
            return self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"the server printed nothing; stderr: {self.err}") from None

    def request(
        self, method: str, target: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            # http.client sends the target exactly as given: no normalisation of %2e or '..'.
            conn.request(method, target, headers=headers or {})
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw(self, data: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT) as s:
            s.sendall(data)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(TIMEOUT)
        for reader in self.readers:
            reader.join(TIMEOUT)
        return code, "".join(self.out), "".join(self.err)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(make_show(tmp_path_factory.mktemp("real") / "show"))
    yield server
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait(TIMEOUT)


@pytest.mark.parametrize(
    "target",
    [
        "/episodes/%2e%2e/show.toml",
        "/episodes/..%2fshow.toml",
        "/episodes/../show.toml",
        "/feed/../reviews/secret.md",
        "/episodes/spin-cycle/../../show.toml",
        "/episodes/%2e%2e%2freviews%2fsecret.md",
        "/feed/%2E%2E/.reviewcast/lock",
        "/episodes/spin-cycle/%2e%2e/%2e%2e/reviews/secret.md",
        "/episodes/spin-cycle/leak.mp3",
        "/episodes/spin-cycle/episode.json",
        "/episodes/spin-cycle/.tmp-spin-cycle-0123456789.mp3.abc",
        "/feed/..\\show.toml",
        "//show.toml",
        "/show.toml",
        "/episodes/spin-cycle%2fspin-cycle-0123456789.mp3",
    ],
)
def test_real_server_keeps_private_files_private(real: Server, target: str) -> None:
    status, _, body = real.request("GET", target)
    assert status == 404
    assert SECRET not in body


def test_real_server_refuses_bytes_that_are_no_url(real: Server) -> None:
    for target in (b"/episodes/spin-cycle/\x00.mp3", b"/feed/\xff.xml", b"/feed/ a.xml"):
        answer = real.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, (target, answer[:100])
        assert SECRET not in answer


def test_real_server_ranges_head_and_caching(real: Server) -> None:
    status, headers, body = real.request("GET", MP3, {"Range": "bytes=0-"})
    assert (status, body) == (206, AUDIO)
    assert headers["content-range"] == f"bytes 0-{SIZE - 1}/{SIZE}"
    assert headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "audio/mpeg"
    status, headers, body = real.request("GET", MP3, {"Range": "bytes=-500"})
    assert (status, body, headers["content-length"]) == (206, AUDIO[-500:], "500")
    status, headers, body = real.request("HEAD", MP3, {"Range": "bytes=100-199"})
    assert (status, body, headers["content-length"]) == (206, b"", "100")
    status, headers, _ = real.request("GET", MP3, {"Range": "bytes=99999-"})
    assert (status, headers["content-range"]) == (416, f"bytes */{SIZE}")
    status, _, body = real.request("GET", MP3, {"Range": "bytes=abc"})
    assert (status, body) == (200, AUDIO)
    etag = headers["etag"] if "etag" in headers else real.request("HEAD", MP3)[1]["etag"]
    status, headers, body = real.request("GET", MP3, {"If-None-Match": etag})
    assert (status, body, headers["etag"]) == (304, b"", etag)
    status, headers, _ = real.request("GET", "/episodes/spin-cycle/transcript-0123456789.vtt")
    assert (status, headers["access-control-allow-origin"]) == (200, "*")
    assert headers["content-type"].startswith("text/vtt")


def test_real_server_odd_requests_get_4xx(real: Server) -> None:
    assert real.request("BREW", "/feed/feed.xml")[0] == 405
    assert real.request("POST", MP3)[0] == 405
    assert real.request("GET", "/feed/" + "a" * 10000)[0] == 414
    huge = real.raw(b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert 400 <= int(huge.split(b" ", 2)[1]) < 500
    assert real.request("GET", "/feed/feed.xml")[0] == 200  # still serving


def test_real_server_warns_when_base_url_is_elsewhere_and_stops_cleanly(
    real: Server,
) -> None:
    # The show's base_url is the default http://127.0.0.1:8000/, and this server is elsewhere.
    assert (
        f"Subscribe in a podcast app to: http://127.0.0.1:{real.port}/feed/feed.xml"
        in (real.banner[1])
    )
    code, out, err = real.stop()
    assert code == 0
    assert "STOPPED" in out
    assert "warning: base_url is http://127.0.0.1:8000/" in err
    assert "Traceback" not in err


def test_real_server_under_base_url_path_prints_the_feed_url(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free port for base_url (released just before use)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}/podcast/"
    root = make_show(tmp_path / "show", base_url=base)
    server = Server(root, port=port)
    try:
        assert server.banner[1].strip() == f"Subscribe in a podcast app to: {base}feed/feed.xml"
        status, _, body = server.request("GET", "/podcast/feed/feed.xml")
        assert (status, body) == (200, (root / "feed" / "feed.xml").read_bytes())
        status, _, body = server.request("GET", "/podcast" + MP3, {"Range": "bytes=10-19"})
        assert (status, body) == (206, AUDIO[10:20])
        assert server.request("GET", "/podcast/%2e%2e/show.toml")[0] == 404
    finally:
        code, _, err = server.stop()
    assert code == 0
    assert "warning" not in err
