"""Reviews from the web (add_url, pull) against a local HTTP server serving real-looking pages and
feeds from tests/data/sources: saving, reading back, updating, and every way a download can fail."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import json
import socket
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reviewcast.errors import FetchError, ReviewError
from reviewcast.reviews import read_review
from reviewcast.sources import (
    MAX_PAGE_BYTES,
    REVIEWS,
    STATE_PATH,
    PullReport,
    _toml_string,
    add_url,
    pull,
)

DATA = Path(__file__).parent / "data" / "sources"
HUGE = 20 * 1024 * 1024
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml",
}
#: Served without a charset in the header: the page says it in a <meta>.
NO_CHARSET = {"/latin1-page.html": "text/html"}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
    b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Site:
    base: str = ""
    #: (path, User-Agent) of every request, in order.
    requests: list[tuple[str, str]] = field(default_factory=list)
    #: path → (status, headers, body), served before the files.
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    huge_finished: threading.Event = field(default_factory=threading.Event)
    huge_sent: int = 0
    huge_complete: bool = False

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def file(self, name: str) -> bytes:
        return (DATA / name).read_bytes().replace(b"{base}", self.base.encode())


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            state.requests.append((path, self.headers.get("User-Agent", "")))
            # The client hangs up early when the size and time limits make it.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(path)

        def _answer(self, path: str) -> None:
            if path in state.routes:
                self._send(*state.routes[path])
            elif path == "/slow.html":
                state.stop.wait(3.0)  # longer than the client's timeout; ends with the test
                self._send(200, {"Content-Type": "text/html"}, b"<html><body>late</body></html>")
            elif path == "/dribble.html":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                for _ in range(200):  # a byte every 50 ms: each in time, the whole never
                    if state.stop.wait(0.05):
                        break
                    self.wfile.write(b" ")
                    self.wfile.flush()
            elif path == "/chunked.html":
                self._chunked(state.file("review-page.html"))
            elif path == "/huge.html":
                self._huge()
            elif path == "/cover.png":
                self._send(200, {"Content-Type": "image/png"}, PNG)
            elif path == "/redirect":
                self._send(302, {"Location": "/review-page.html"}, b"")
            elif path == "/loop":
                self._send(302, {"Location": "/loop"}, b"")
            elif path == "/to-file":
                self._send(302, {"Location": "file:///etc/passwd"}, b"")
            elif path == "/broken":
                self._send(500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>")
            elif (DATA / path.lstrip("/")).is_file() and ".." not in path:
                suffix = Path(path).suffix
                kind = NO_CHARSET.get(path) or TYPES.get(suffix, "application/octet-stream")
                self._send(200, {"Content-Type": kind}, state.file(path.lstrip("/")))
            else:
                self._send(404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>")

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunked(self, body: bytes) -> None:
            # HTTP/1.1 chunked transfer, as most real servers send pages.
            self.protocol_version = "HTTP/1.1"
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 1000):
                piece = body[start : start + 1000]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")

        def _huge(self) -> None:
            # No Content-Length: the size shows only while the body streams in.
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            chunk = b"<p>" + b"la " * 21_844 + b"</p>\n"  # 64 KiB
            try:
                while state.huge_sent < HUGE and not state.stop.is_set():
                    self.wfile.write(chunk)
                    state.huge_sent += len(chunk)
                state.huge_complete = state.huge_sent >= HUGE
            finally:
                state.huge_finished.set()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def show(tmp_path: Path) -> Path:
    root = tmp_path / "show"
    (root / REVIEWS).mkdir(parents=True)
    return root


def saved(show: Path) -> list[str]:
    """Names of the files in reviews/, sorted."""
    return sorted(p.name for p in (show / REVIEWS).iterdir())


def sidecar(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.with_suffix(".toml").read_text(encoding="utf-8"))


# -- add_url ---------------------------------------------------------------------------------------


def test_add_url_saves_the_page_and_its_url_and_reads_back(site: Site, show: Path) -> None:
    url = site.base + "/review-page.html"
    path = add_url(show, url)
    assert path == show / REVIEWS / "the-night-ferries-glass-harbour.html"
    assert saved(show) == [
        "the-night-ferries-glass-harbour.html",
        "the-night-ferries-glass-harbour.toml",
    ]
    # The page itself is kept, so the reader extracts the article from it each time.
    assert path.read_bytes() == (DATA / "review-page.html").read_bytes()
    assert sidecar(path) == {"source_url": url}
    review = read_review(path)
    assert review.format == "html"
    assert review.title == "The Night Ferries: Glass Harbour"
    assert review.reviewer == "Ruth Okafor"
    assert review.date == dt.date(2025, 9, 21)
    assert review.source_url == url  # the sidecar's, not the page's canonical link
    assert review.text.startswith("Two years after a debut that sounded like it was recorded")
    assert "by the closing title track the promise is kept" in review.text
    for furniture in ("Recent Posts", "Share this", "Proudly powered", "Posted in"):
        assert furniture not in review.text
    ((_, agent),) = site.requests
    assert agent.startswith("reviewcast/")


def test_adding_again_updates_the_same_review_and_keeps_keys_set_by_hand(
    site: Site, show: Path
) -> None:
    url = site.base + "/review-page.html"
    path = add_url(show, url)
    with path.with_suffix(".toml").open("a", encoding="utf-8") as fh:
        fh.write(
            'author = "R. Okafor"\nalbum = "Glass Harbour"\n'
            'tracklist = ["Low Water", "Signal Fires", "Glass Harbour"]\n'
        )
    page = (DATA / "review-page.html").read_bytes()
    changed = page.replace(b"it is the best thing they have made", b"it is their masterpiece")
    assert changed != page
    site.routes["/review-page.html"] = (200, {"Content-Type": "text/html"}, changed)

    again = add_url(show, url)

    assert again == path
    assert saved(show) == [path.name, path.with_suffix(".toml").name]
    assert sidecar(path) == {
        "source_url": url,
        "author": "R. Okafor",
        "album": "Glass Harbour",
        "tracklist": ["Low Water", "Signal Fires", "Glass Harbour"],
    }
    review = read_review(path)
    assert "it is their masterpiece" in review.text
    assert "best thing they have made" not in review.text
    assert (review.reviewer, review.album) == ("R. Okafor", "Glass Harbour")
    assert review.tracklist == ("Low Water", "Signal Fires", "Glass Harbour")


def test_a_redirect_is_followed_and_the_final_address_recorded(site: Site, show: Path) -> None:
    path = add_url(show, site.base + "/redirect")
    assert read_review(path).source_url == site.base + "/review-page.html"
    assert add_url(show, site.base + "/review-page.html#comments") == path
    assert len(saved(show)) == 2


def test_the_same_title_from_another_address_gets_its_own_name(site: Site, show: Path) -> None:
    (show / REVIEWS / "the-night-ferries-glass-harbour-2.md").write_text(
        "# Mine\n\nA review I wrote myself about this album, with enough words to read.\n",
        encoding="utf-8",
    )
    first = add_url(show, site.base + "/review-page.html")
    site.routes["/mirror/glass-harbour/"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8"},
        site.file("review-page.html"),
    )
    second = add_url(show, site.base + "/mirror/glass-harbour/")
    assert first.name == "the-night-ferries-glass-harbour.html"
    assert second.name == "the-night-ferries-glass-harbour-3.html"
    assert read_review(second).source_url == site.base + "/mirror/glass-harbour/"


def test_the_charset_comes_from_the_meta_tag_and_the_file_is_saved_as_utf8(
    site: Site, show: Path
) -> None:
    path = add_url(show, site.base + "/latin1-page.html")
    text = path.read_text(encoding="utf-8")  # would raise if the bytes had been kept as they were
    assert 'charset=utf-8"' in text and "iso-8859-1" not in text
    review = read_review(path)
    assert review.reviewer == "Hélène Marchand"
    assert review.language == "fr"
    # Declared as ISO-8859-1 but written as Windows-1252, as browsers assume: the dash survives.
    assert "« Canal Saint-Martin »" in review.text
    assert "prend enfin sa place – le refrain" in review.text


def test_the_charset_comes_from_the_header(site: Site, show: Path) -> None:
    body = (DATA / "latin1-page.html").read_bytes()
    body = body.replace(
        b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">', b""
    )
    assert b"charset" not in body
    site.routes["/header.html"] = (200, {"Content-Type": "text/html; charset=windows-1252"}, body)
    review = read_review(add_url(show, site.base + "/header.html"))
    assert "des voix qui se frôlent" in review.text
    assert review.title == "Les Éclusiers : Brume d'été"


def test_a_chunked_page_is_read_whole(site: Site, show: Path) -> None:
    path = add_url(show, site.base + "/chunked.html")
    assert path.read_bytes() == site.file("review-page.html")


def test_a_gzipped_page_is_unpacked(site: Site, show: Path) -> None:
    packed = gzip.compress(site.file("review-page.html"))
    site.routes["/packed.html"] = (
        200,
        {"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "gzip"},
        packed,
    )
    review = read_review(add_url(show, site.base + "/packed.html"))
    assert review.reviewer == "Ruth Okafor"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing.html", "HTTP 404 Not Found"),
        ("/broken", "HTTP 500 Internal Server Error"),
        ("/cover.png", "is image/png, not a web page"),
        ("/loop", "redirects more than 5 times"),
        ("/to-file", "which is not a web address"),
        ("/blog.rss", "is application/rss+xml, not a web page; it looks like a feed"),
    ],
)
def test_fetch_errors_name_the_address_and_the_reason(
    site: Site, show: Path, path: str, expected: str
) -> None:
    with pytest.raises(FetchError) as caught:
        add_url(show, site.base + path)
    assert expected in str(caught.value)
    assert site.base in str(caught.value)
    assert saved(show) == []


def test_a_declared_size_over_the_limit_is_refused_before_the_body(site: Site, show: Path) -> None:
    site.routes["/declared.html"] = (
        200,
        {"Content-Type": "text/html", "Content-Length": str(HUGE)},
        b"<html>",
    )
    with pytest.raises(FetchError, match="larger than 5 MB, the limit for a page"):
        add_url(show, site.base + "/declared.html")
    assert saved(show) == []


def test_a_huge_streamed_page_is_refused_without_reading_it_all(site: Site, show: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match="larger than 5 MB"):
        add_url(show, site.base + "/huge.html")
    assert time.monotonic() - started < 10
    assert site.huge_finished.wait(10)
    # The client hung up soon after the limit: the server could not send the rest.
    assert not site.huge_complete
    assert MAX_PAGE_BYTES < site.huge_sent < HUGE
    assert saved(show) == []


def test_a_packed_body_that_unpacks_past_the_limit_is_refused(site: Site, show: Path) -> None:
    bomb = gzip.compress(b"<p>" + b"a" * HUGE + b"</p>", compresslevel=9)
    assert len(bomb) < 100_000
    site.routes["/bomb.html"] = (
        200,
        {"Content-Type": "text/html", "Content-Encoding": "gzip"},
        bomb,
    )
    with pytest.raises(FetchError, match="larger than 5 MB"):
        add_url(show, site.base + "/bomb.html")


def test_a_server_that_does_not_answer_times_out(site: Site, show: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"/slow\.html: no answer within 0\.3 s"):
        add_url(show, site.base + "/slow.html", timeout=0.3)
    assert time.monotonic() - started < 2


def test_a_server_that_trickles_is_cut_off_at_the_timeout(site: Site, show: Path) -> None:
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"the download took longer than 0\.5 s"):
        add_url(show, site.base + "/dribble.html", timeout=0.5)
    assert time.monotonic() - started < 2


def test_addresses_that_are_not_web_pages_are_refused(show: Path) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x.html", "review-page.html", ""):
        with pytest.raises(FetchError, match="not a web address"):
            add_url(show, url)


def test_an_unreachable_server(show: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    with pytest.raises(FetchError, match=f"cannot reach http://127.0.0.1:{port}/x"):
        add_url(show, f"http://127.0.0.1:{port}/x", timeout=2)


def test_a_page_with_nothing_to_read_is_refused_and_leaves_the_review_alone(
    site: Site, show: Path
) -> None:
    path = add_url(show, site.base + "/review-page.html")
    before = path.read_bytes()
    site.routes["/review-page.html"] = (
        200,
        {"Content-Type": "text/html"},
        b"<!DOCTYPE html><html><body><img src='/cover.png'><script>track()</script></body></html>",
    )
    with pytest.raises(ReviewError, match=r"review-page\.html: .*no words"):
        add_url(show, site.base + "/review-page.html")
    assert path.read_bytes() == before


def test_a_review_written_by_hand_with_that_source_is_not_overwritten(
    site: Site, show: Path
) -> None:
    url = site.base + "/review-page.html"
    mine = show / REVIEWS / "glass-harbour.md"
    mine.write_text("# Glass Harbour\n\nMy own words about the record, long enough.\n")
    mine.with_suffix(".toml").write_text(f'url = "{url}"\n')
    with pytest.raises(ReviewError, match=r"already the source of glass-harbour\.md"):
        add_url(show, url)
    assert saved(show) == ["glass-harbour.md", "glass-harbour.toml"]


# -- pull ------------------------------------------------------------------------------------------


def test_pull_saves_full_content_from_rss_without_fetching_the_posts(
    site: Site, show: Path
) -> None:
    report = pull(show, site.base + "/blog.rss")
    reviews = show / REVIEWS
    assert report == PullReport(
        added=(
            reviews / "copper-wolves-salt-and-signal.html",
            reviews / "marlow-vance-paper-satellites.html",
        ),
        updated=(),
        unchanged=0,
        failed=(),
    )
    assert site.paths() == ["/blog.rss"]
    review = read_review(reviews / "marlow-vance-paper-satellites.html")
    assert review.title == "Marlow Vance – Paper Satellites"
    assert review.reviewer == "Ruth Okafor"
    assert review.date == dt.date(2025, 10, 5)
    assert review.source_url == site.base + "/2025/10/paper-satellites/"
    assert review.text.startswith("Marlow Vance made his name with songs built for festival fields")
    assert "“Tin Can Telephone” layers a dozen whispered vocals" in review.text
    assert review.text.endswith("and it is well worth hearing.")  # not the feed's footer
    assert review.blocks[0].emphasis  # <em>Paper Satellites</em> kept as emphasis
    other = read_review(reviews / "copper-wolves-salt-and-signal.html")
    assert (other.reviewer, other.date) == ("Tomasz Wierzbicki", dt.date(2025, 9, 26))
    state = json.loads((show / STATE_PATH).read_text(encoding="utf-8"))
    assert state["entries"][site.base + "/?p=840"]["file"] == (
        "reviews/marlow-vance-paper-satellites.html"
    )


def test_pulling_again_pulls_nothing(site: Site, show: Path) -> None:
    first = pull(show, site.base + "/blog.rss")
    files = {p.name: p.read_bytes() for p in (show / REVIEWS).iterdir()}
    second = pull(show, site.base + "/blog.rss")
    assert second == PullReport(added=(), updated=(), unchanged=2, failed=())
    assert len(first.added) == 2
    assert {p.name: p.read_bytes() for p in (show / REVIEWS).iterdir()} == files


def test_an_updated_post_is_updated_in_place(site: Site, show: Path) -> None:
    first = pull(show, site.base + "/blog.rss")
    feed = site.file("blog.rss").replace(
        b"It is loud, it is joyful", b"Update: the vinyl is out now. It is loud, it is joyful"
    )
    site.routes["/blog.rss"] = (200, {"Content-Type": "application/rss+xml"}, feed)
    report = pull(show, site.base + "/blog.rss")
    path = show / REVIEWS / "copper-wolves-salt-and-signal.html"
    assert report == PullReport(added=(), updated=(path,), unchanged=1, failed=())
    assert path in first.added
    assert "Update: the vinyl is out now." in read_review(path).text
    assert len([n for n in saved(show) if n.endswith(".html")]) == 2


def test_a_changed_updated_date_alone_updates_the_post(site: Site, show: Path) -> None:
    pull(show, site.base + "/blog.atom")
    feed = site.file("blog.atom").replace(
        b"<updated>2025-08-14T09:00:00Z</updated>", b"<updated>2025-10-01T09:00:00Z</updated>"
    )
    site.routes["/blog.atom"] = (200, {"Content-Type": "application/atom+xml"}, feed)
    fetched = len(site.requests)
    report = pull(show, site.base + "/blog.atom")
    assert report.updated == (show / REVIEWS / "static-bloom-neon-orchard.html",)
    assert report.unchanged == 1
    assert site.paths()[fetched:] == ["/blog.atom", "/posts/static-bloom.html"]


def test_pull_fetches_the_pages_of_a_feed_with_summaries_only(site: Site, show: Path) -> None:
    report = pull(show, site.base + "/blog.atom")
    reviews = show / REVIEWS
    tidewater = reviews / "tidewater-deluxe-hollow-coast.html"
    assert report.added == (reviews / "static-bloom-neon-orchard.html", tidewater)
    assert report.failed == ()
    assert sorted(site.paths()) == [
        "/blog.atom",
        "/posts/static-bloom.html",
        "/posts/tidewater.html",
    ]
    review = read_review(tidewater)
    assert review.title == "Tidewater (deluxe) – Hollow Coast"  # the feed's title, markup removed
    assert review.reviewer == "Priya Natarajan"
    assert review.date == dt.date(2025, 9, 30)
    assert review.source_url == site.base + "/posts/tidewater.html"
    assert review.text.startswith("Hollow Coast have always sung about the sea")
    assert "The Long Player" not in review.text  # the page's furniture
    # A relative link in the feed is taken relative to the feed's address.
    bloom = read_review(reviews / "static-bloom-neon-orchard.html")
    assert bloom.source_url == site.base + "/posts/static-bloom.html"
    assert "Pollen" in bloom.text
    assert pull(show, site.base + "/blog.atom") == PullReport((), (), 2, ())
    assert len(site.requests) == 4  # the second pull read the feed and nothing else


def test_bad_entries_are_reported_and_never_stop_the_others(site: Site, show: Path) -> None:
    report = pull(show, site.base + "/bad-entries.rss")
    assert report.added == (show / REVIEWS / "copper-wolves-salt-and-signal.html",)
    failed = dict(report.failed)
    assert list(failed) == [
        "entry 3 (Nowhere at All)",
        site.base + "/cover.png",
        site.base + "/missing",
    ]
    assert "neither an id nor a link" in failed["entry 3 (Nowhere at All)"]
    assert "image/png, not a web page" in failed[site.base + "/cover.png"]
    assert "HTTP 404" in failed[site.base + "/missing"]
    # Failed entries are tried again next time; the saved one is not.
    again = pull(show, site.base + "/bad-entries.rss")
    assert (again.added, again.updated, again.unchanged, len(again.failed)) == ((), (), 1, 3)


def test_a_review_deleted_by_hand_is_not_pulled_back(site: Site, show: Path) -> None:
    report = pull(show, site.base + "/blog.rss")
    gone = report.added[0]
    gone.unlink()
    gone.with_suffix(".toml").unlink()
    assert pull(show, site.base + "/blog.rss") == PullReport((), (), 2, ())
    assert not gone.exists()


def test_a_post_added_by_address_is_updated_by_the_pull_not_duplicated(
    site: Site, show: Path
) -> None:
    added = add_url(show, site.base + "/posts/tidewater.html")
    report = pull(show, site.base + "/blog.atom")
    assert report.updated == (added,)
    assert [p.name for p in report.added] == ["static-bloom-neon-orchard.html"]
    assert read_review(added).title == "Tidewater (deluxe) – Hollow Coast"


def test_a_lost_state_file_does_not_duplicate_reviews(site: Site, show: Path) -> None:
    first = pull(show, site.base + "/blog.rss")
    (show / STATE_PATH).write_text("{not json", encoding="utf-8")
    report = pull(show, site.base + "/blog.rss")
    assert report.added == ()
    assert sorted(report.updated) == sorted(first.added)
    assert pull(show, site.base + "/blog.rss").unchanged == 2


def test_pull_finds_the_feed_a_blog_page_links_to(site: Site, show: Path) -> None:
    report = pull(show, site.base + "/blog-home.html")
    assert len(report.added) == 2
    assert site.paths()[:2] == ["/blog-home.html", "/blog.atom"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/review-page.html", "is not an RSS or Atom feed"),
        ("/cover.png", "is image/png, not an RSS or Atom feed"),
        ("/missing.rss", "HTTP 404"),
    ],
)
def test_what_is_not_a_feed_is_refused(site: Site, show: Path, path: str, expected: str) -> None:
    with pytest.raises(FetchError, match=expected):
        pull(show, site.base + path)
    assert saved(show) == []
    assert not (show / STATE_PATH).exists()


# -- details ---------------------------------------------------------------------------------------


def test_reviews_folder_is_the_pipelines() -> None:
    from reviewcast.pipeline import REVIEWS as PIPELINE_REVIEWS

    assert REVIEWS == PIPELINE_REVIEWS


@given(st.text())
def test_sidecar_strings_read_back_as_written(text: str) -> None:
    assert tomllib.loads(f"key = {_toml_string(text)}\n")["key"] == text


def test_the_whole_loop_from_the_blog_to_the_feed(
    site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`[sources]` in show.toml, a plain `reviewcast pull`, then `reviewcast render`."""
    from reviewcast.cli import main

    root = tmp_path / "loop"
    assert main(["init", str(root), "-q"]) == 0
    (root / "voices" / "default.toml").write_text('engine = "tone"\nvoice = "t"\n')
    toml = (root / "show.toml").read_text(encoding="utf-8")
    (root / "show.toml").write_text(
        toml.replace("[sources]\n", f'[sources]\nblog = "{site.base}/blog.rss"\n'),
        encoding="utf-8",
    )
    assert main(["pull", "--show", str(root)]) == 0
    assert "2 new, 0 updated, 0 unchanged, 0 failed" in capsys.readouterr().out
    assert main(["render", "--show", str(root), "-q", "--jobs", "1"]) == 0
    assert main(["pull", "--show", str(root)]) == 0
    assert "0 new, 0 updated, 2 unchanged" in capsys.readouterr().out
    feed = (root / "feed" / "feed.xml").read_text(encoding="utf-8")
    assert feed.count("<item>") == 2 and "Paper Satellites" in feed


def test_pull_without_a_feed_says_where_to_name_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reviewcast.cli import main

    assert main(["init", str(tmp_path / "s"), "-q"]) == 0
    assert main(["pull", "--show", str(tmp_path / "s")]) == 2
    assert "[sources]" in capsys.readouterr().err
