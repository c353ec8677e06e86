"""Reviews from the web: one review page by its URL, or every post of a blog's RSS or Atom feed.

    add_url(show, url) ─fetch─▶ the page ─▶ reviews/<slug>.html + <slug>.toml (source_url)
    pull(show, feed)   ─fetch─▶ feedparser ─▶ each new or changed entry:
        full content in the feed ─▶ reviews/<slug>.html (the article, an HTML fragment)
        a summary only           ─▶ fetch the entry's link, saved like add_url
        + <slug>.toml with the feed's title, author, date and the post's URL

Pages are saved whole (re-encoded as UTF-8) rather than converted: the review reader extracts
the article from them with trafilatura the same way each time, and gets better at it without
fetching again. Where a review came from is its sidecar's ``source_url``, so re-adding a URL, or
pulling a post that was added by hand, updates that review instead of adding another. What was
pulled from feeds is remembered in ``.reviewcast/sources.json``: entry → file and a hash of the
entry, so a post is pulled once, and again only when the blog changes it.

Every download is bounded: a time limit, a size limit checked while streaming, a few redirects,
and a content type that must be what was asked for.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import hashlib
import html
import json
import re
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from http.client import HTTPException
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit, urlunsplit

from reviewcast import __version__
from reviewcast.errors import ConfigError, FetchError, ReviewcastError, ReviewError
from reviewcast.fsutil import atomic_write_text
from reviewcast.publish import slugify
from reviewcast.reviews import KEYS, MAX_REVIEW_BYTES, SUPPORTED_EXTENSIONS, read_review
from reviewcast.reviews.decode import decode

__all__ = [
    "MAX_FEED_BYTES",
    "MAX_PAGE_BYTES",
    "MAX_REDIRECTS",
    "REVIEWS",
    "STATE_PATH",
    "USER_AGENT",
    "PullReport",
    "add_url",
    "pull",
]

#: The show's folder of reviews (the same as ``pipeline.REVIEWS``, which imports the whole
#: audio stack; a test keeps the two equal).
REVIEWS = "reviews"
#: What was pulled from feeds: entry → saved file and a hash of the entry as last pulled.
STATE_PATH = Path(".reviewcast") / "sources.json"
STATE_VERSION = 1
USER_AGENT = f"reviewcast/{__version__} (+https://pypi.org/project/reviewcast/)"
#: A page larger than a review file may be is refused while downloading: it could not be read.
MAX_PAGE_BYTES = MAX_REVIEW_BYTES
#: Feeds carrying every post's full text grow larger than one page.
MAX_FEED_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5

_CHUNK = 64 * 1024
_PAGE_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/xml",
        "text/xml",
        "text/html",  # a blog's home page: its feed is found from its <link rel="alternate">
        "text/plain",  # feeds are often served as text by misconfigured servers
        "application/octet-stream",
    }
)
_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"
_FEED_ACCEPT = (
    "application/rss+xml,application/atom+xml;q=0.9,application/xml;q=0.8,text/xml;q=0.8,*/*;q=0.1"
)
# Labels that browsers (the WHATWG Encoding Standard) read as a larger encoding than Python does:
# a page declared as Latin-1 is in practice Windows-1252, curly quotes included.
_CHARSET_ALIASES = {
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "tis-620": "cp874",
    "ks_c_5601-1987": "euc-kr",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9._:-]+)""", re.I)
_META_CHARSET_TEXT = re.compile(r"""(<meta[^>]+charset\s*=\s*["']?\s*)([a-zA-Z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*encoding\s*=\s*["'])([^"']+)""")
# WordPress plugins (Yoast's "RSS footer") end each post in the feed, and only there, with
# "The post <title> appeared first on <blog>."
_FEED_FOOTER = re.compile(
    r"\s*<p>\s*(?:the post|this post)\b(?:(?!<p[\s>]).)*?\bappeared first on\b"
    r"(?:(?!<p[\s>]).)*?</p>\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ALTERNATE_FEED = (
    "//link[contains(concat(' ', translate(@rel, 'ALTERNATE', 'alternate'), ' '), ' alternate ')"
    " and (contains(@type, 'rss') or contains(@type, 'atom'))]/@href"
)


@dataclass(frozen=True)
class PullReport:
    """What a pull did: reviews added and updated, entries left alone, entries that failed."""

    added: tuple[Path, ...]
    updated: tuple[Path, ...]
    unchanged: int
    failed: tuple[tuple[str, str], ...]  # (the entry's URL or id, why)


def add_url(show_root: Path, url: str, *, timeout: float = 20.0) -> Path:
    """Fetch one review page into the show's reviews/ and return the saved file.

    The page is saved as ``<slug>.html`` with a sidecar recording its URL; adding a URL again
    updates that review (the sidecar's other keys, set by hand, are kept).
    """
    reviews = _reviews_folder(show_root)
    url = _check_url(url)
    response = _fetch(url, timeout=timeout, kind="page")
    index = _SourceIndex(reviews)
    target = index.find(response.url) or index.find(url)
    return _save(
        reviews,
        target,
        _page_text(response),
        {"source_url": response.url},
        origin=url,
        fallback_name=_name_from_url(response.url),
    )


def pull(show_root: Path, feed_url: str, *, timeout: float = 20.0) -> PullReport:
    """Save each new or changed post of a blog's RSS or Atom feed as a review.

    A post already pulled is left alone unless the blog changed it (then it is updated in
    place); a review deleted by hand stays deleted. One bad entry never stops the others: it
    is listed in ``failed``. ``feed_url`` may also be the blog's page that links to its feed.
    """
    reviews = _reviews_folder(show_root)
    feed = _read_feed(_check_url(feed_url), timeout)
    state_path = show_root / STATE_PATH
    state = _load_state(state_path)
    index = _SourceIndex(reviews)
    added: list[Path] = []
    updated: list[Path] = []
    unchanged = 0
    failed: list[tuple[str, str]] = []
    # Feeds list the newest first; saving the oldest first gives a repeated title's first post
    # the plain name.
    for number, entry in reversed(list(enumerate(feed.entries, 1))):
        label = _entry_label(entry, number)
        try:
            outcome = _pull_entry(show_root, reviews, feed.url, entry, state, index, timeout)
        except ReviewcastError as error:
            failed.append((label, error.detail))
            continue
        if outcome is None:
            unchanged += 1
            continue
        kind, path = outcome
        (added if kind == "added" else updated).append(path)
        # Saved after every entry: a pull cut short must not pull the same posts again.
        _save_state(state_path, state)
    return PullReport(tuple(added), tuple(updated), unchanged, tuple(failed))


# -- feeds ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Feed:
    url: str
    entries: list[Any]


def _read_feed(url: str, timeout: float) -> _Feed:
    # Imported here: feedparser is needed only by `pull`.
    import feedparser

    response = _fetch(url, timeout=timeout, kind="feed")
    parsed = _parse_feed(feedparser, response)
    if not parsed.get("version") and not parsed.entries:
        discovered = _discover_feed(response) if response.media_type == "text/html" else None
        if discovered is None:
            reason = parsed.get("bozo_exception")
            detail = f" ({reason})" if reason else ""
            raise FetchError(
                f"{url} is not an RSS or Atom feed{detail}; give the blog's feed address "
                "(often ending in /feed, /rss or /atom.xml)"
            )
        response = _fetch(discovered, timeout=timeout, kind="feed")
        parsed = _parse_feed(feedparser, response)
        if not parsed.get("version") and not parsed.entries:
            raise FetchError(f"{discovered}, the feed {url} links to, is not an RSS or Atom feed")
    return _Feed(response.url, list(parsed.entries))


def _parse_feed(feedparser: Any, response: _Response) -> Any:
    # Bytes, never a URL: feedparser must not fetch anything itself, unbounded. The headers
    # give it the charset and the base for relative links.
    headers = {"content-location": response.url}
    if response.content_type:
        headers["content-type"] = response.content_type
    return feedparser.parse(response.body, response_headers=headers)


def _discover_feed(response: _Response) -> str | None:
    """The feed a web page names in ``<link rel="alternate" type="application/rss+xml">``."""
    import lxml.html  # type: ignore[import-untyped, unused-ignore]

    try:
        root = lxml.html.fromstring(response.body)
        hrefs = root.xpath(_ALTERNATE_FEED)
    except Exception:  # lxml raises several unrelated types for markup it cannot parse
        return None
    for href in hrefs:
        candidate = urljoin(response.url, str(href).strip())
        if urlsplit(candidate).scheme in ("http", "https"):
            return candidate
    return None


def _pull_entry(
    show_root: Path,
    reviews: Path,
    feed_url: str,
    entry: Any,
    state: dict[str, Any],
    index: _SourceIndex,
    timeout: float,
) -> tuple[str, Path] | None:
    """("added" | "updated", path) for an entry saved, None for one left alone."""
    link = _entry_link(entry)
    key = str(entry.get("id") or "").strip() or link
    if not key:
        raise FetchError("the entry has neither an id nor a link")
    digest = _entry_digest(entry)
    entries: dict[str, Any] = state["entries"]
    record = entries.get(key)
    target: Path | None = None
    if record is not None:
        if record.get("hash") == digest:
            return None
        known = show_root / str(record.get("file", ""))
        target = known if known.is_file() else (index.find(link) if link else None)
        if target is None:
            return None  # deleted by hand: not brought back
    elif link:
        target = index.find(link)  # added with add_url, or pulled from another feed
    meta = _entry_meta(entry)
    content = _entry_content(entry)
    path: Path | None = None
    if content is not None:
        if link:
            meta["source_url"] = link
        try:
            path = _save(reviews, target, content, meta, origin=link or key, fallback_name=key)
        except ReviewError:
            if not link:
                raise
            path = None  # the feed's "content" is only a teaser: read the post's own page
    if path is None:
        if not link:
            raise FetchError("the entry has no content and no link to fetch it from")
        response = _fetch(_check_url(link), timeout=timeout, kind="page")
        meta["source_url"] = response.url
        path = _save(
            reviews,
            target,
            _page_text(response),
            meta,
            origin=link,
            fallback_name=_name_from_url(response.url),
        )
    index.add(str(meta["source_url"]) if "source_url" in meta else None, path)
    entries[key] = {
        "file": path.relative_to(show_root).as_posix(),
        "hash": digest,
        "link": link,
        "feed": feed_url,
        "title": meta.get("title"),
    }
    return ("updated" if target is not None else "added"), path


def _entry_link(entry: Any) -> str:
    link = str(entry.get("link") or "").strip()
    return link if urlsplit(link).scheme in ("http", "https") else ""


def _entry_label(entry: Any, number: int) -> str:
    found = _entry_link(entry) or str(entry.get("id") or "").strip()
    if found:
        return found
    title = _plain(entry.get("title"))
    return f"entry {number}" + (f" ({title})" if title else "")


def _entry_digest(entry: Any) -> str:
    """What, when it changes, makes a pulled post worth saving again."""
    # dict.get: feedparser's own get() answers "updated" with "published" (and warns).
    parts = [
        dict.get(entry, key)
        for key in ("title", "link", "author", "published", "updated", "summary")
    ] + [[item.get("value") for item in entry.get("content") or []]]
    data = json.dumps(parts, ensure_ascii=False, default=str, sort_keys=True)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _entry_meta(entry: Any) -> dict[str, Any]:
    """Sidecar keys from what the feed states about the post: structured, hence trusted."""
    meta: dict[str, Any] = {}
    title = _plain(entry.get("title"))
    if title:
        meta["title"] = title
    detail = entry.get("author_detail") or {}
    author = _plain(detail.get("name") or entry.get("author"))
    if author and not ("@" in author and " " not in author):  # a bare e-mail is not a name
        meta["reviewer"] = author
    stamp = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    if stamp:
        with contextlib.suppress(TypeError, ValueError, IndexError):  # a nonsense date: none
            meta["date"] = dt.date(stamp[0], stamp[1], stamp[2])
    return meta


def _entry_content(entry: Any) -> str | None:
    """The post's full text from the feed (content:encoded, Atom content), as HTML; or None."""
    best: tuple[int, str] | None = None
    for item in entry.get("content") or []:
        value = str(item.get("value") or "")
        kind = str(item.get("type") or "text/html").lower()
        if not value.strip():
            continue
        if kind == "text/plain":
            paragraphs = [p for p in re.split(r"\n\s*\n", value) if p.strip()]
            value = "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in paragraphs)
        elif "html" not in kind and "xml" not in kind:
            continue
        if best is None or len(value) > best[0]:
            best = (len(value), value)
    if best is None:
        return None
    content = _FEED_FOOTER.sub("", best[1])
    # Saved as a fragment: the reader takes it whole, without a page's furniture to strip. The
    # charset lets a browser show the file as the reader reads it.
    return '<meta charset="utf-8">\n' + content.strip() + "\n"


def _plain(value: Any) -> str:
    """Text of a feed field that may hold markup (Atom type="html" titles)."""
    text = str(value or "")
    if "<" in text:
        text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return " ".join(text.split())


# -- saving --------------------------------------------------------------------------------------


def _reviews_folder(show_root: Path) -> Path:
    if not show_root.is_dir():
        raise ConfigError(
            "the show folder does not exist; create it with `reviewcast init`", path=show_root
        )
    return show_root / REVIEWS


def _save(
    reviews: Path,
    target: Path | None,
    text: str,
    keys: Mapping[str, Any],
    *,
    origin: str,
    fallback_name: str,
) -> Path:
    """Save a review and its sidecar as ``target`` (or a new name from its title); the path.

    The review is read back before anything is written, so what cannot be read (no article,
    no words) is refused and an existing review stays as it was.
    """
    if target is not None and target.suffix.lower() != ".html":
        raise ReviewError(
            f"{origin} is already the source of {target.name}, which is not a saved page; "
            "remove its source_url (or the file) to fetch the page again"
        )
    sidecar = _merge_sidecar(target.with_suffix(".toml") if target else None, keys)
    with tempfile.TemporaryDirectory(prefix="reviewcast-source-") as folder:
        stem = target.stem if target else "review"
        trial = Path(folder) / f"{stem}.html"
        trial.write_text(text, encoding="utf-8")
        trial.with_suffix(".toml").write_text(sidecar, encoding="utf-8")
        try:
            review = read_review(trial)
        except ConfigError as error:
            raise ConfigError(error.detail, path=(target or trial).with_suffix(".toml")) from None
        except ReviewcastError as error:
            raise ReviewError(f"{origin}: {error.detail}") from None
    if target is None:
        title = review.title or (
            f"{review.album} by {review.artist}" if review.album and review.artist else None
        )
        target = _unique(reviews, slugify(title or fallback_name))
    # The sidecar first: a review is never seen without the URL it came from.
    atomic_write_text(target.with_suffix(".toml"), sidecar)
    atomic_write_text(target, text)
    return target


def _unique(reviews: Path, slug: str) -> Path:
    """``reviews/<slug>.html``, numbered when a review (of any format) already has that name."""
    taken = (*SUPPORTED_EXTENSIONS, ".toml", ".tracks.txt")
    for number in range(1, 10_000):
        stem = slug if number == 1 else f"{slug}-{number}"
        if not any((reviews / f"{stem}{suffix}").exists() for suffix in taken):
            return reviews / f"{stem}.html"
    raise ReviewError(f"too many reviews named {slug}; rename some", path=reviews)


def _name_from_url(url: str) -> str:
    """A name for a review whose page has no title: the last part of its path, or its host."""
    parts = urlsplit(url)
    last = [p for p in parts.path.split("/") if p]
    name = last[-1] if last else parts.hostname or "review"
    return re.sub(r"\.(html?|php|aspx?)$", "", name, flags=re.I)


def _merge_sidecar(path: Path | None, keys: Mapping[str, Any]) -> str:
    """The sidecar's TOML: what is there already (set by hand) with ``keys`` replacing theirs."""
    data: dict[str, Any] = {}
    if path is not None and path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise ConfigError(
                f"cannot update the review's sidecar: {error}; fix or delete it", path=path
            ) from None
    for key, value in keys.items():
        # "author" and "reviewer" (and "url", "source_url") name one field: keep one of them.
        for other in [k for k in data if KEYS.get(k.lower()) == KEYS[key]]:
            del data[other]
        data[key] = value
    owned = ", ".join(keys)
    header = (
        "# Saved by reviewcast. Fetching the review again rewrites " + owned + ";\n"
        "# other keys set here are kept.\n"
    )
    return header + "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML also wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(value: Any) -> str:
    """A TOML value for what tomllib read or a date: enough to keep a sidecar's keys."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


class _SourceIndex:
    """Which review in reviews/ came from which URL, by the ``source_url`` of each sidecar."""

    def __init__(self, reviews: Path) -> None:
        self._reviews = reviews
        self._by_url: dict[str, Path] = {}
        sidecars = sorted(reviews.glob("*.toml")) if reviews.is_dir() else []
        for sidecar in sidecars:
            if sidecar.name.startswith("."):
                continue
            try:
                data = tomllib.loads(sidecar.read_text(encoding="utf-8-sig"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # the reader reports a broken sidecar; here it only names no source
            url = next((v for k, v in data.items() if KEYS.get(k.lower()) == "source_url"), None)
            if isinstance(url, str):
                self._by_url.setdefault(_url_key(url), self._review_beside(sidecar))

    def _review_beside(self, sidecar: Path) -> Path:
        for suffix in SUPPORTED_EXTENSIONS:
            candidate = sidecar.with_suffix(suffix)
            if candidate.is_file():
                return candidate
        return sidecar.with_suffix(".html")  # a sidecar left alone: its page is saved anew

    def find(self, url: str) -> Path | None:
        return self._by_url.get(_url_key(url))

    def add(self, url: str | None, path: Path) -> None:
        if url:
            self._by_url[_url_key(url)] = path


def _url_key(url: str) -> str:
    """A URL as compared for sameness: no fragment, scheme and host in lower case."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


# -- state ---------------------------------------------------------------------------------------


def _load_state(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = None
    except (OSError, ValueError):
        # Lost memory only costs rewriting posts: each is found again by its sidecar's URL.
        data = None
    if (
        not isinstance(data, dict)
        or data.get("version") != STATE_VERSION
        or not isinstance(data.get("entries"), dict)
    ):
        return {"version": STATE_VERSION, "entries": {}}
    return data


def _save_state(path: Path, state: dict[str, Any]) -> None:
    text = json.dumps(state, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text)


# -- fetching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Response:
    url: str  # after redirects
    content_type: str  # the header as sent ("" when there is none)
    media_type: str  # e.g. "text/html", lower case
    charset: str | None
    body: bytes


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS

    def http_error_302(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any
    ) -> Any:
        # urllib would follow a redirect to ftp:, and report one to file: as a redirect loop.
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            if urlsplit(target).scheme not in ("http", "https"):
                fp.close()
                raise FetchError(
                    f"{req.full_url} redirects to {target}, which is not a web address"
                )
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FetchError(f"{url!r} is not a web address; give one starting with https://")
    return url


def _fetch(url: str, *, timeout: float, kind: Literal["page", "feed"]) -> _Response:
    """GET ``url`` ("page" or "feed"), bounded in time, size and redirects; FetchError if not."""
    limit, accept = (
        (MAX_PAGE_BYTES, _PAGE_ACCEPT) if kind == "page" else (MAX_FEED_BYTES, _FEED_ACCEPT)
    )
    request = urllib.request.Request(
        url,
        headers={"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip"},
    )
    opener = urllib.request.build_opener(_Redirects())
    # `timeout` bounds each wait on the socket; the deadline bounds a server that keeps
    # sending a trickle, each piece in time.
    deadline = time.monotonic() + timeout
    try:
        with opener.open(request, timeout=timeout) as response:
            final = response.geturl()
            headers: Message = response.headers
            media_type = headers.get_content_type() if headers.get("Content-Type") else ""
            _check_type(final, media_type, kind)
            declared = headers.get("Content-Length", "")
            if declared.strip().isdigit() and int(declared) > limit:
                raise FetchError(_too_big(final, kind, limit))
            encoding = (headers.get("Content-Encoding") or "identity").strip().lower()
            body = _read_body(response, final, kind, limit, encoding, deadline, timeout)
            charset = headers.get_content_charset()
            content_type = headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        error.close()
        if 300 <= error.code < 400:
            raise FetchError(
                f"{url} redirects more than {MAX_REDIRECTS} times (or in a loop)"
            ) from None
        raise FetchError(
            f"{url}: the server answered HTTP {error.code} {error.reason}"
            + (" (is the address right?)" if error.code in (404, 410) else "")
        ) from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise FetchError(f"{url}: no answer within {timeout:g} s") from None
        raise FetchError(f"cannot reach {url}: {reason}") from None
    except TimeoutError:
        raise FetchError(f"{url}: no answer within {timeout:g} s") from None
    except (HTTPException, OSError) as error:
        raise FetchError(f"{url}: the download failed: {error or type(error).__name__}") from None
    except ValueError as error:  # urllib's "unknown url type" and the like
        raise FetchError(f"{url!r} cannot be fetched: {error}") from None
    if media_type == "" and kind == "page" and not _looks_like_html(body):
        raise FetchError(f"{final} is not a web page (it has no content type and is not HTML)")
    return _Response(final, content_type, media_type, charset, body)


def _check_type(url: str, media_type: str, kind: str) -> None:
    if not media_type:
        return  # judged by the body once read
    allowed = _PAGE_TYPES if kind == "page" else _FEED_TYPES
    if media_type in allowed or (kind == "feed" and media_type.endswith("+xml")):
        return
    if kind == "page":
        feed = media_type in _FEED_TYPES or media_type.endswith("+xml")
        hint = "it looks like a feed: pull it instead" if feed else "review pages are HTML"
        raise FetchError(f"{url} is {media_type}, not a web page; {hint}")
    raise FetchError(f"{url} is {media_type}, not an RSS or Atom feed")


def _too_big(url: str, kind: str, limit: int) -> str:
    what = "page" if kind == "page" else "feed"
    return f"{url}: the {what} is larger than {limit // (1024 * 1024)} MB, the limit for a {what}"


def _read_body(
    response: Any,
    url: str,
    kind: str,
    limit: int,
    encoding: str,
    deadline: float,
    timeout: float,
) -> bytes:
    """The body, stopping as soon as it (or what it unpacks to) exceeds ``limit``."""
    if encoding in ("gzip", "x-gzip"):
        unpack: Any = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        unpack = zlib.decompressobj()
    elif encoding == "identity":
        unpack = None
    else:
        raise FetchError(f"{url}: the server sent it packed as {encoding!r}, unknown to reviewcast")
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError(f"{url}: the download took longer than {timeout:g} s")
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        if unpack is not None:
            try:
                # max_length: a small packed body may unpack to gigabytes.
                chunk = unpack.decompress(unpack.unconsumed_tail + chunk, limit + 1 - size)
            except zlib.error as error:
                raise FetchError(f"{url}: the packed body is damaged ({error})") from None
        size += len(chunk)
        if size > limit:
            raise FetchError(_too_big(url, kind, limit))
        parts.append(chunk)
    if unpack is not None:
        tail = unpack.flush()
        size += len(tail)
        if size > limit or unpack.unconsumed_tail:
            raise FetchError(_too_big(url, kind, limit))
        parts.append(tail)
    return b"".join(parts)


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<body" in body[:8192].lower()


def _page_text(response: _Response) -> str:
    """The page as text, in the charset it is in (BOM, then header, then <meta>), saved as UTF-8."""
    body = response.body
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _guessed(body, response)  # the reader's decoding goes by the byte-order mark
    else:
        try:
            # Valid UTF-8 is UTF-8 whatever a header claims: servers often default to Latin-1.
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = _declared(body, response) or _guessed(body, response)
    # The file is saved as UTF-8: say so where the page says what it is in.
    head, cut, rest = text.partition("</head>")
    if not cut:
        head, rest = text[:4096], text[4096:]
    head = _META_CHARSET_TEXT.sub(r"\1utf-8", head)
    head = _XML_ENCODING.sub(r"\1utf-8", head)
    return head + cut + rest


def _declared(body: bytes, response: _Response) -> str | None:
    for label in (response.charset, *_meta_charsets(body)):
        if not label:
            continue
        name = _CHARSET_ALIASES.get(label.strip().lower(), label.strip())
        try:
            return body.decode(codecs.lookup(name).name, errors="replace")
        except LookupError:
            continue  # an unknown label: try the next, then guess
    return None


def _meta_charsets(body: bytes) -> Iterable[str]:
    for match in _META_CHARSET.finditer(body[:8192]):
        yield match.group(1).decode("ascii", "replace")


def _guessed(body: bytes, response: _Response) -> str:
    try:
        return decode(body, Path(urlsplit(response.url).path or "page"))
    except ReviewError as error:
        raise FetchError(f"{response.url}: {error.detail}") from None
