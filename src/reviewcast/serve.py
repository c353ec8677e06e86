"""`reviewcast serve`: the show's published files over HTTP, as podcast apps and players fetch them.

Starlette's StaticFiles under uvicorn (h11), with three small adapters whose reasons are below:

- ``_Guard`` (ASGI middleware) refuses, before any routing, every request that is not a plain
  GET/HEAD/OPTIONS of a plain path: encoded slashes or backslashes, NUL bytes, ``.``/``..``
  segments (also when percent-encoded), empty segments, hidden names, very long URLs. It adds
  CORS headers (web players fetch transcripts and chapters from other origins) to every answer.
- ``_PublishedFiles`` (a StaticFiles subclass) serves only what ``site.is_published`` allows,
  with the types of ``site.media_type`` (Python's mimetypes knows neither .vtt nor .srt nor the
  chapters type), and answers a missing folder with 404 instead of StaticFiles' RuntimeError.
- Range headers are parsed here as RFC 9110 says and handed to Starlette only in a form it
  handles right. Starlette 1.10 defects, each tested in tests/test_serve.py:
  1. an unknown range unit (``items=0-5``) gets 400; RFC 9110 §14.2: the server MUST ignore it;
  2. an invalid range set (``bytes=abc``, ``bytes=5-1``) gets 400; §14.2 lets a server ignore
     it, and ignoring (200, whole file) is what keeps every client working;
  3. several ranges with one unsatisfiable (``bytes=0-1,9999-``) get 416; §15.5.17 prescribes
     416 only when none is satisfiable;
  4. a range number of more than 4300 digits is silently dropped (int() refuses it).

The app is served at ``/`` and, when base_url has a path (https://example.org/podcast/), under
that path too, so a reverse proxy can forward ``/podcast/`` unchanged: ``/feed/…``,
``/episodes/…`` and ``/podcast/feed/…``, ``/podcast/episodes/…`` all work. ``/`` redirects to
``feed/``, which is feed/index.html when there is one and a small subscribe page otherwise.
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reviewcast.config import ShowConfig, load_config
from reviewcast.errors import ReviewcastError
from reviewcast.records import EPISODES_DIR
from reviewcast.site import FEED_DIR, FEED_FILE, media_type, resolve_published

#: Longer request targets get 414; real ones are well under 300 characters.
MAX_TARGET = 2048
#: Seconds a client has to send a whole request once it has connected or begun one. uvicorn
#: has no such limit: a connection that sends nothing, or half a request, or a byte now and
#: then, was held open for ever, so a few hundred of them used up the server's file handles.
REQUEST_TIMEOUT = 15.0
#: Pending connections the kernel queues before accept (uvicorn's own default).
BACKLOG = 2048
#: More ranges in one request than this are ignored (RFC 9110 §14.2 allows it; no podcast app
#: asks for more than one).
MAX_RANGES = 16
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
#: Added to every answer: CORS for web players, and no type sniffing of published files.
EXTRA_HEADERS = (
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"Content-Length, Content-Range, ETag"),
    (b"x-content-type-options", b"nosniff"),
)
_DIGITS = 20  # longer numbers are larger than any file; keeps int() away from huge inputs


def create_app(show_root: Path) -> Starlette:
    """The ASGI app that serves the show's published files (episodes/ and feed/)."""
    return app_for(load_config(show_root))


def app_for(config: ShowConfig) -> Starlette:
    """The app for an already loaded config (serve() uses it; the CLI may override settings)."""
    routes = _routes(config)
    prefix = urlsplit(config.base).path.rstrip("/")
    # The prefixed mount goes first: base_url may itself end in /feed/ or /episodes/.
    all_routes: list[BaseRoute] = [Mount(prefix, routes=routes)] if prefix else []
    all_routes.extend(routes)
    return Starlette(routes=all_routes, middleware=[Middleware(_Guard)])


def serve(
    config: ShowConfig,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    request_timeout: float = REQUEST_TIMEOUT,
) -> None:
    """Serve the show at http://host:port/ until interrupted (Ctrl+C). Port 0: any free port."""
    import uvicorn

    sock = _bind(host, port)
    port = sock.getsockname()[1]
    local = local_base(host, port)
    here = points_here(config.base, host, port)
    print(f"Serving '{config.title}' at {local} (episodes/ and feed/ of {config.root})", flush=True)
    print(
        f"Subscribe in a podcast app to: {config.feed_url if here else local + 'feed/feed.xml'}",
        flush=True,
    )
    if not here:
        print(
            f"warning: base_url is {config.base}, not this server: the feed's episode URLs point "
            "there, so a podcast app subscribed here fetches the audio from there (or fails). "
            f'To listen through this server, set base_url = "{local}" in show.toml and render '
            "again.",
            file=sys.stderr,
            flush=True,
        )
    if not _is_loopback(host):
        print(
            f"note: listening on {host}: other machines on the network can fetch the published "
            "files (never the reviews or settings).",
            file=sys.stderr,
            flush=True,
        )
    print("Press Ctrl+C to stop.", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(
            app_for(config),
            # h11 (pure Python, uvicorn's default without extras) so that tests and users see
            # the same request parsing whatever else is installed; with a request deadline.
            http=_timely_h11(request_timeout),
            lifespan="off",
            log_level="info",
            server_header=False,
            timeout_graceful_shutdown=3,
        )
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises Ctrl+C after a clean shutdown; stopping is the normal end
    finally:
        sock.close()


def local_base(host: str, port: int) -> str:
    """The URL of this server's root as a browser on this machine reaches it."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def points_here(base: str, host: str, port: int) -> bool:
    """Whether URLs under ``base`` reach a server listening on ``host``:``port``.

    A wildcard host (0.0.0.0, ::) accepts any name with the right port: which names resolve to
    this machine cannot be known here.
    """
    url = urlsplit(base)
    try:
        url_port = url.port or 80
    except ValueError:
        return False
    if url.scheme != "http" or url_port != port or not url.hostname:
        return False
    name = url.hostname.lower()
    if host in ("", "0.0.0.0", "::") or name == host.lower():
        return True
    return _is_loopback(name) and _is_loopback(host)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a ReviewcastError that says what to do instead."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ReviewcastError(f"cannot listen on {host!r}: {exc.strerror}") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        hint = (
            f"; another program uses port {port}: try --port {port + 1}"
            if port and exc.errno == 98
            else ""
        )
        raise ReviewcastError(f"cannot listen on {host}:{port}: {exc.strerror}{hint}") from exc
    sock.set_inheritable(True)
    return sock


def _timely_h11(timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing connections that take over ``timeout`` s per request.

    The clock runs from the connection's start, and again from the first byte of each later
    request, until the request (head and any body) is complete. Idle keep-alive connections
    between requests are uvicorn's own business (closed after 5 s).
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimelyH11(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._start_clock()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):
                self._start_clock()  # part of a request: the clock runs (if not already)
            else:
                self._stop_clock()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        def _start_clock(self) -> None:
            if self._deadline is None and not self.transport.is_closing():
                self._deadline = self.loop.call_later(timeout, self._too_slow)

        def _stop_clock(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            # 408 for a request not yet answered; after an answer, just close.
            if self.conn.their_state is h11.IDLE or self.conn.our_state is h11.IDLE:
                # Raw bytes: h11 can only answer a request it has parsed in full.
                self.transport.write(
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                    b"Content-Length: 0\r\n\r\n"
                )
            self.transport.close()

    return TimelyH11


# -- routes ----------------------------------------------------------------------------------


def _routes(config: ShowConfig) -> list[BaseRoute]:
    feed = _PublishedFiles(config.root / FEED_DIR, revalidate=True, config=config)
    episodes = _PublishedFiles(config.root / EPISODES_DIR)
    return [
        Route("/", _to_feed, methods=["GET", "HEAD"]),
        Mount("/" + FEED_DIR, app=feed),
        Mount("/" + EPISODES_DIR, app=episodes),
    ]


async def _to_feed(request: Request) -> Response:
    # Relative, so that it is right under a base_url path and behind a proxy alike.
    return RedirectResponse("feed/", status_code=302)


class _PublishedFiles(StaticFiles):
    """StaticFiles for one published folder, answering only for published files."""

    def __init__(
        self, folder: Path, *, revalidate: bool = False, config: ShowConfig | None = None
    ) -> None:
        super().__init__(directory=folder, check_dir=False)
        self.folder = folder
        # The feed changes in place: apps and browsers must revalidate it (ETag) every time.
        self.extra_headers = {"Cache-Control": "no-cache"} if revalidate else {}
        self.config = config  # only the feed folder has one: it answers /feed/ with a page

    async def check_config(self) -> None:
        """No check: a show without episodes yet answers 404, not StaticFiles' RuntimeError."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """The published file at ``path`` (relative to the folder) and its stat, or ("", None)."""
        real = resolve_published(self.folder, path.replace(os.sep, "/"))
        if real is None:
            return "", None
        try:
            return str(real), real.stat()
        except OSError:
            return "", None

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file's response; the feed folder's own URL gets index.html or a subscribe page."""
        if path == "." and self.config is not None:
            if scope["method"] not in ("GET", "HEAD"):
                raise HTTPException(status_code=405, headers={"Allow": ALLOWED_METHODS})
            full, stat_result = self.lookup_path("index.html")
            if stat_result is not None:
                return self.file_response(full, stat_result, scope)
            return HTMLResponse(_subscribe_page(self.config), headers=self.extra_headers)
        return await super().get_response(path, scope)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """FileResponse with the published type, 304 when unchanged, Range as RFC 9110 says."""
        response = FileResponse(
            full_path,
            status_code=status_code,
            stat_result=stat_result,
            media_type=media_type(Path(full_path).name),
            headers=self.extra_headers,
        )
        request = Headers(scope=scope)
        # RFC 9110 §13.2.2: If-None-Match / If-Modified-Since come before Range.
        if self.is_not_modified(response.headers, request):
            return NotModifiedResponse(response.headers)
        requested = request.get("range")
        if requested is None:
            return response
        if_range = request.get("if-range")
        if if_range is not None and if_range not in (
            response.headers["etag"],
            response.headers["last-modified"],
        ):
            return _WithRange(response, None)  # the file changed: send all of it
        ranges = parse_range(requested, stat_result.st_size)
        if ranges is None:
            return _WithRange(response, None)
        if not ranges:
            return PlainTextResponse(
                "Range Not Satisfiable",
                status_code=416,
                headers={"Content-Range": f"bytes */{stat_result.st_size}"},
            )
        return _WithRange(response, "bytes=" + ",".join(f"{a}-{b}" for a, b in ranges))


class _WithRange(Response):
    """Sends a FileResponse as if the request's Range header were ``range_value`` (None: none).

    Starlette's FileResponse reads Range from the request itself; this hands it one that its
    parser handles as RFC 9110 means (see the defects in the module docstring).
    """

    def __init__(self, inner: FileResponse, range_value: str | None) -> None:
        # No Response.__init__: this only forwards to ``inner``, which has the headers.
        self.inner = inner
        self.range_value = range_value
        self.status_code = inner.status_code
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"range", b"if-range")]
        if self.range_value is not None:
            headers.append((b"range", self.range_value.encode("latin-1")))
        await self.inner({**scope, "headers": headers}, receive, send)


_INT_RANGE = re.compile(r"(\d+)-(\d*)")
_SUFFIX_RANGE = re.compile(r"-(\d+)")


def parse_range(header: str, size: int) -> list[tuple[int, int]] | None:
    """RFC 9110 §14.1.2 byte ranges of a file of ``size`` bytes, as inclusive (first, last).

    None: ignore the header and send the whole file (not bytes, not valid, too many ranges, or
    an empty file). An empty list: none is satisfiable (416). Otherwise the satisfiable ranges,
    clipped to the file.
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes" or size == 0:
        return None
    parts = [part.strip(" \t") for part in spec.split(",")]
    parts = [part for part in parts if part]  # RFC 9110 §5.6.1: empty list elements are ignored
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[tuple[int, int]] = []
    for part in parts:
        if m := _INT_RANGE.fullmatch(part):
            first = _number(m[1])
            last = _number(m[2]) if m[2] else size - 1
            if m[2] and last < first:
                return None  # §14.1.1: an invalid range-spec makes the whole header invalid
            if first < size:
                ranges.append((first, min(last, size - 1)))
        elif m := _SUFFIX_RANGE.fullmatch(part):
            length = _number(m[1])
            if length > 0:
                ranges.append((max(size - length, 0), size - 1))
        else:
            return None
    return ranges


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= _DIGITS else 10**_DIGITS


def _subscribe_page(config: ShowConfig) -> str:
    title = html.escape(config.title)
    return (
        '<!doctype html>\n<html lang="' + html.escape(config.language) + '"><head>'
        f'<meta charset="utf-8"><title>{title}</title>'
        '<link rel="alternate" type="application/rss+xml" href="' + FEED_FILE + '">'
        f"</head><body><h1>{title}</h1>"
        f"<p>{html.escape(config.description)}</p>"
        f'<p>Subscribe in a podcast app: <a href="{FEED_FILE}">{FEED_FILE}</a></p>'
        "</body></html>\n"
    )


# -- the guard -------------------------------------------------------------------------------


class _Guard:
    """Refuses odd requests before routing and adds CORS headers to every answer."""

    #: Percent-encodings that would smuggle a separator or a NUL past the path split.
    SMUGGLED: ClassVar[Sequence[bytes]] = (b"%2f", b"%5c", b"%00", b"\\")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1003})
                return
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *EXTRA_HEADERS]}
            await send(message)

        response = self.refusal(scope)
        if response is not None:
            await response(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that must not reach the files, or None to let it through."""
        path: str = scope["path"]
        raw: bytes = scope.get("raw_path") or path.encode("utf-8", "surrogateescape")
        if len(raw) + len(scope.get("query_string", b"")) > MAX_TARGET:
            return PlainTextResponse("URI Too Long", status_code=414)
        method = scope["method"]
        if method not in ("GET", "HEAD", "OPTIONS"):
            return PlainTextResponse(
                "Method Not Allowed", status_code=405, headers={"Allow": ALLOWED_METHODS}
            )
        if not path.startswith("/") or not raw.startswith(b"/"):
            return PlainTextResponse("Bad Request", status_code=400)
        lowered = raw.lower()
        segments = path.split("/")[1:]
        if (
            any(bad in lowered for bad in self.SMUGGLED)
            or "\x00" in path
            or "\\" in path
            or any(s in ("", ".", "..") or s.startswith(".") for s in segments[:-1])
            or segments[-1] in (".", "..")
            or segments[-1].startswith(".")
        ):
            return PlainTextResponse("Not Found", status_code=404)
        if method == "OPTIONS":
            # A CORS preflight (a player sending If-None-Match, say) or a plain OPTIONS.
            return Response(
                status_code=204,
                headers={
                    "Allow": ALLOWED_METHODS,
                    "Access-Control-Allow-Methods": "GET, HEAD",
                    "Access-Control-Allow-Headers": "Range, If-None-Match, If-Modified-Since, "
                    "If-Range",
                    "Access-Control-Max-Age": "86400",
                },
            )
        return None
