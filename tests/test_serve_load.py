"""Hostile and heavy requests to a real `reviewcast serve` (uvicorn, h11) on 127.0.0.1.

tests/test_serve.py checks Range parsing and private paths through Starlette's TestClient and a
few requests to the real server. Here every request goes over a socket to `reviewcast serve
--port 0`, as podcast apps and attackers reach it: the whole RFC 9110 Range matrix, requests
that are not quite HTTP, symlinks that lead out of the published folders, clients that send
their request slowly or hang up halfway through a download, and a short run of
benchmarks/load.py (200 concurrent range requests for 3 s). No answer may be a 5xx, no
traceback may be logged, and the server must keep answering.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import random
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

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0
AUDIO = random.Random(3).randbytes(300_000)
SIZE = len(AUDIO)
MP3 = "/episodes/ep/ep-0123456789.mp3"
SECRET = b"SECRET-NOT-FOR-LISTENERS"


def make_show(root: Path) -> Path:
    """A published show, and symlinks that try to lead out of its published folders."""
    ep = root / "episodes" / "ep"
    ep.mkdir(parents=True)
    (root / "show.toml").write_text('title = "Load"\n', encoding="utf-8")
    (ep / "ep-0123456789.mp3").write_bytes(AUDIO)
    (root / "feed").mkdir()
    (root / "feed" / "feed.xml").write_text('<?xml version="1.0"?><rss version="2.0"/>\n')
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret.mp3").write_bytes(SECRET)
    (outside / "secret.xml").write_bytes(SECRET)
    (root / "reviews").mkdir()
    (root / "reviews" / "secret.mp3").write_bytes(SECRET)
    (root / "episodes" / "out").symlink_to(outside, target_is_directory=True)  # a folder out
    (root / "episodes" / "up").symlink_to("..", target_is_directory=True)  # the show itself
    (ep / "hop1.mp3").symlink_to("hop2.mp3")  # a chain that ends outside
    (ep / "hop2.mp3").symlink_to(outside / "secret.mp3")
    (ep / "loop.mp3").symlink_to("loop.mp3")
    (ep / "review.mp3").symlink_to(root / "reviews" / "secret.mp3")
    (root / "feed" / "audio.mp3").symlink_to(ep / "ep-0123456789.mp3")  # another published folder
    (root / "feed" / "passwd.txt").symlink_to("/etc/passwd")
    (root / "feed" / "show.xml").symlink_to(root / "show.toml")
    return root


class Served:
    """A server in a subprocess: `reviewcast serve`, or serve() called with other settings."""

    def __init__(self, root: Path, request_timeout: float | None = None) -> None:
        if request_timeout is None:
            cmd = [sys.executable, "-m", "reviewcast", "serve", "--show", str(root), "--port", "0"]
        else:
            code = textwrap.dedent(
                f"""
                from pathlib import Path
                from reviewcast.config import load_config
                from reviewcast.serve import serve
                serve(load_config(Path({str(root)!r})), port=0, request_timeout={request_timeout})
                """
            )
            cmd = [sys.executable, "-c", code]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        banner = self.proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert found, (banner, self.proc.stderr.read() if self.proc.poll() is not None else "")
        self.port = int(found[1])
        self.log: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.log.append(line)

    def failures(self) -> list[str]:
        return [
            line
            for line in self.log
            if "Traceback" in line or "Exception" in line or re.search(r'" 5\d\d\b', line)
        ]

    def open_files(self) -> int:
        return len(list(Path(f"/proc/{self.proc.pid}/fd").iterdir()))

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)

    def raw(self, data: bytes) -> bytes:
        """Send ``data`` and read until the server closes the connection."""
        with self.connect() as sock:
            sock.sendall(data)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)

    def get(
        self, target: str, *headers: str, method: str = "GET"
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *headers, "Connection: close"]
        answer = self.raw(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return parse(answer)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(TIMEOUT)


def parse(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one HTTP/1.1 answer."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ", 2)[1]), headers, body


def statuses(answer: bytes) -> list[int]:
    # Not anchored to a line start: a pipelined answer follows the last body byte directly.
    return [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", answer)]


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_show(tmp_path_factory.mktemp("load") / "show")


@pytest.fixture(scope="module")
def server(show: Path) -> Iterator[Served]:
    served = Served(show)
    yield served
    served.stop()
    assert served.failures() == []


# -- Range, as RFC 9110 §14 prescribes -----------------------------------------------------------

HUGE = "9" * 40
RANGES = [
    # (Range header, status, (first, last) of a single part or None)
    ("bytes=0-0", 206, (0, 0)),
    ("bytes=0-1", 206, (0, 1)),
    ("bytes=299999-", 206, (SIZE - 1, SIZE - 1)),
    ("bytes=-1", 206, (SIZE - 1, SIZE - 1)),
    ("bytes=100-" + HUGE, 206, (100, SIZE - 1)),  # a last byte past the end is clipped
    ("bytes=-" + HUGE, 206, (0, SIZE - 1)),
    ("bytes=0-" + "9" * 5000, 206, (0, SIZE - 1)),
    ("bytes = 5-9", 206, (5, 9)),  # whitespace around '=' and in the list
    ("bytes=5-9 ,", 206, (5, 9)),
    ("bytes=0-1,300000-", 206, (0, 1)),  # one satisfiable range is enough
    ("bytes=300000-", 416, None),  # §15.5.17: none satisfiable
    (f"bytes={HUGE}-", 416, None),
    ("bytes=-0", 416, None),
    ("bytes=300000-400000,500000-", 416, None),
    ("bytes=abc", 200, None),  # §14.2: an invalid Range is ignored
    ("bytes=5-1", 200, None),
    ("bytes=--1", 200, None),
    ("bytes=1-2-3", 200, None),
    ("bytes=0x10-0x20", 200, None),
    ("bytes=", 200, None),
    ("items=0-5", 200, None),  # an unknown unit MUST be ignored
    ("bytes=" + ",".join(f"{n}-{n}" for n in range(0, 40, 2)), 200, None),  # too many ranges
    ("bytes=" + "1-1," * 2000 + "0-1", 200, None),  # 8 KB of ranges
    ("bytes=0-1\xff\xfe", 200, None),  # not ASCII
]


@pytest.mark.parametrize(("header", "status", "part"), RANGES, ids=[r[0][:40] for r in RANGES])
def test_range_headers_get_what_rfc_9110_prescribes(
    server: Served, header: str, status: int, part: tuple[int, int] | None
) -> None:
    for method in ("GET", "HEAD"):
        got, headers, body = server.get(MP3, f"Range: {header}", method=method)
        assert got == status, (method, header)
        if status == 206:
            assert part is not None
            first, last = part
            assert headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
            assert headers["content-length"] == str(last - first + 1)
            assert body == (AUDIO[first : last + 1] if method == "GET" else b"")
        elif status == 416:
            assert headers["content-range"] == f"bytes */{SIZE}"
            assert AUDIO[:64] not in body
        else:
            assert "content-range" not in headers
            assert body == (AUDIO if method == "GET" else b"")


def test_several_ranges_are_one_multipart_answer(server: Served) -> None:
    got, headers, body = server.get(MP3, "Range: bytes=-2, 0-0, 1000-1009")
    assert got == 206
    assert headers["content-length"] == str(len(body))
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + headers["content-type"].encode() + b"\r\n\r\n" + body
    )
    parts = [(p["Content-Range"], p.get_payload(decode=True)) for p in message.iter_parts()]
    # In file order: §14.6 says the parts SHOULD follow the header's order, and Starlette sorts
    # them (a deviation no podcast app notices: they ask for one range at a time).
    assert parts == [
        (f"bytes 0-0/{SIZE}", AUDIO[:1]),
        (f"bytes 1000-1009/{SIZE}", AUDIO[1000:1010]),
        (f"bytes {SIZE - 2}-{SIZE - 1}/{SIZE}", AUDIO[-2:]),
    ]


def test_two_range_fields_use_the_first(server: Served) -> None:
    got, _, body = server.get(MP3, "Range: bytes=0-1", "Range: bytes=5-9")
    assert (got, body) == (206, AUDIO[0:2])


# -- requests that are not quite HTTP ------------------------------------------------------------

T = MP3.encode()
CLOSE = b"Connection: close\r\n\r\n"
ODD = {
    "CONNECT": (b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n" + CLOSE, 405),
    "TRACE": (b"TRACE " + T + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
    "lower-case get": (b"get " + T + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405),
    "OPTIONS *": (b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400),
    "absolute form": (b"GET http://evil.example" + T + b" HTTP/1.1\r\nHost: x\r\n" + CLOSE, 400),
    "no Host": (b"GET " + T + b" HTTP/1.1\r\nConnection: close\r\n\r\n", 400),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 405),
    "TLS hello": (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(200)), 400),
    "two Content-Lengths": (
        b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
    ),
    "NUL in a header": (b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400),
    "long query": (b"GET " + T + b"?" + b"q" * 5000 + b" HTTP/1.1\r\nHost: x\r\n" + CLOSE, 414),
    "encoded NUL": (b"GET /episodes/ep/ep-0123456789.mp3%00 HTTP/1.1\r\nHost: x\r\n" + CLOSE, 404),
    "WebSocket upgrade": (
        b"GET "
        + T
        + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        200,  # no WebSocket here: a plain answer
    ),
    "body on a GET": (
        b"GET "
        + T
        + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        200,
    ),
    "chunked GET": (
        b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        200,
    ),
    "500 header fields": (
        b"GET "
        + T
        + b" HTTP/1.1\r\nHost: x\r\n"
        + b"".join(b"X-H%d: v\r\n" % n for n in range(500))
        + b"Connection: close\r\n\r\n",
        200,
    ),
}


@pytest.mark.parametrize("name", list(ODD))
def test_odd_requests_get_a_4xx_or_a_plain_answer_never_a_5xx(server: Served, name: str) -> None:
    request, status = ODD[name]
    answer = server.raw(request)
    assert statuses(answer)[:1] == [status], answer[:200]
    assert all(s < 500 for s in statuses(answer)), answer[:300]
    assert server.get("/feed/feed.xml")[0] == 200  # still serving


def test_pipelined_requests_are_answered_in_order(server: Served) -> None:
    one = b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n"
    last = b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nRange: bytes=9-9\r\nConnection: close\r\n\r\n"
    answer = server.raw(b"".join(one % (n, n) for n in range(9)) + last)
    ranges = re.findall(rb"content-range: bytes (\d+)-", answer)
    assert statuses(answer) == [206] * 10
    assert [int(r) for r in ranges] == list(range(10))


# -- symlinks out of the published folders -------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/episodes/out/secret.mp3",  # a folder symlink out of the show
        "/episodes/up/reviews/secret.mp3",  # a folder symlink up into the private show
        "/episodes/up/feed/feed.xml",  # … even to a published file
        "/episodes/ep/hop1.mp3",  # a chain of symlinks ending outside
        "/episodes/ep/loop.mp3",  # a symlink to itself
        "/episodes/ep/review.mp3",  # to a private file of the show
        "/feed/audio.mp3",  # into the other published folder
        "/feed/passwd.txt",
        "/feed/show.xml",
    ],
)
def test_symlinks_out_of_the_published_folder_are_404(server: Served, target: str) -> None:
    for method in ("GET", "HEAD"):
        got, _, body = server.get(target, "Range: bytes=0-", method=method)
        assert got == 404, (method, target)
        assert SECRET not in body and b"root:" not in body


# -- slow and vanishing clients ------------------------------------------------------------------


def test_clients_that_send_slowly_are_cut_off_and_others_still_served(show: Path) -> None:
    # Before the request timeout, uvicorn kept these open for ever: enough of them used up the
    # server's file handles.
    served = Served(show, request_timeout=1.0)
    try:
        slow = {
            "nothing": b"",
            "half a request line": b"GET " + T,
            "half the header fields": b"GET " + T + b" HTTP/1.1\r\nHost: x\r\n",
            "a request without a version": b"GET " + T + b"\r\n",
            "a body that never comes": b"GET " + T + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Length: 100\r\n\r\nab",
        }
        sockets = {name: served.connect() for name in slow for _ in range(20)}
        for name, sock in sockets.items():
            sock.sendall(slow[name])
        trickler = served.connect()
        start = time.monotonic()
        # A client trickling one byte every 0.2 s is cut off too: the clock is per request.
        for byte in b"GET " + T:
            try:
                trickler.sendall(bytes([byte]))
            except OSError:
                break
            if time.monotonic() - start > 3:
                break
            time.sleep(0.2)
        assert time.monotonic() - start < 3, "the trickling client was never cut off"
        assert served.get("/feed/feed.xml")[0] == 200  # the others are still served
        for name, sock in [*sockets.items(), ("trickle", trickler)]:
            sock.settimeout(TIMEOUT)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
            sock.close()
            assert answer == b"" or statuses(answer)[-1] == 408 or name.startswith("a body"), (
                name,
                answer[:100],
            )
        assert time.monotonic() - start < 5
    finally:
        served.stop()
    assert served.failures() == []


def test_clients_that_hang_up_mid_download_leave_nothing_behind(server: Served) -> None:
    time.sleep(0.5)
    before = server.open_files()
    for _ in range(100):
        with server.connect() as sock:
            sock.sendall(b"GET " + T + b" HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n")
            sock.recv(4096)
            # RST instead of FIN: the way a killed app's connection ends.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
    deadline = time.monotonic() + 5
    while server.open_files() > before + 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.open_files() <= before + 2
    assert server.get(MP3, "Range: bytes=0-1")[2] == AUDIO[:2]


# -- load ----------------------------------------------------------------------------------------


def test_200_concurrent_range_requests_for_3_seconds(tmp_path: Path) -> None:
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--connections", "200",
         "--duration", "3", "--json", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["errors"] == {} and result["server_failures_logged"] == 0
    assert result["server_alive"]
    assert result["requests"] >= 200  # every connection was answered at least once
    rss = result["server_rss_mb"]
    assert rss["peak"] < 120, rss  # about 30 MB idle, 55 MB under this load
