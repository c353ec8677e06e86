"""Album tracklists from MusicBrainz, cached beside the review so later runs work offline.

Two requests per album: a release search (``release/?query=…``) and a lookup of the best
match with its recordings (``release/<mbid>?inc=recordings``). The answer, a miss included,
is stored as JSON; delete that file to ask again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from reviewcast import __version__
from reviewcast.errors import FetchError
from reviewcast.fsutil import atomic_write_text

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_USER_AGENT", "MusicBrainzClient"]

DEFAULT_BASE_URL = "https://musicbrainz.org/ws/2/"
# MusicBrainz asks every client to name itself; anonymous user agents are throttled hardest.
DEFAULT_USER_AGENT = f"reviewcast/{__version__} ( https://pypi.org/project/reviewcast/ )"
CACHE_VERSION = 1
_HINT = "give the tracklist with --tracklist FILE or in the review's front matter instead"


def _norm(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if ch.isascii())
    return " ".join(letters.split())


def _phrase(text: str) -> str:
    """A Lucene phrase: quotes and backslashes escaped, as the search syntax requires."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class MusicBrainzClient:
    """Looks up an album's track titles on MusicBrainz (or a server that answers like it)."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        cache_dir: Path | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        *,
        timeout: float = 10.0,
        min_interval: float = 1.0,
        min_score: int = 80,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.cache_dir = cache_dir
        self.user_agent = user_agent
        self.timeout = timeout
        # MusicBrainz allows one request a second per client.
        self.min_interval = min_interval
        self.min_score = min_score
        self._last_request = 0.0

    def tracklist(
        self, artist: str, album: str, cache: Path | None = None
    ) -> tuple[str, ...] | None:
        """The album's track titles in medium and position order; None when no release matches.

        ``cache`` is the JSON file that holds the answer (the pipeline uses the review's path
        with the suffix ``.musicbrainz.json``); without it, a file in ``cache_dir`` if set.
        """
        path = cache or self._default_cache(artist, album)
        if path is not None:
            cached = self._read_cache(path, artist, album)
            if cached is not None:
                titles = cached.get("titles")
                return tuple(titles) if isinstance(titles, list) else None
        release = self._best_release(artist, album)
        titles = self._titles(release) if release is not None else None
        if path is not None:
            record = {
                "version": CACHE_VERSION,
                "artist": artist,
                "album": album,
                "release": release,
                "titles": list(titles) if titles else None,
                "fetched": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "source": self.base_url,
            }
            try:
                atomic_write_text(path, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
            except OSError as error:
                raise FetchError(
                    f"cannot save the MusicBrainz answer: {error.strerror or error}", path=path
                ) from error
        return titles or None

    # -- cache ---------------------------------------------------------------------------------

    def _default_cache(self, artist: str, album: str) -> Path | None:
        if self.cache_dir is None:
            return None
        key = hashlib.sha256(f"{_norm(artist)}\n{_norm(album)}".encode()).hexdigest()[:20]
        return self.cache_dir / f"{key}.musicbrainz.json"

    @staticmethod
    def _read_cache(path: Path, artist: str, album: str) -> dict[str, Any] | None:
        """The cached answer for this artist and album, or None to ask again."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return None  # a damaged cache is only a missed shortcut: fetch and rewrite it
        if (
            not isinstance(data, dict)
            or data.get("version") != CACHE_VERSION
            or _norm(str(data.get("artist", ""))) != _norm(artist)
            or _norm(str(data.get("album", ""))) != _norm(album)
        ):
            return None  # the review's metadata changed since: the old answer is for another album
        return data

    # -- requests ------------------------------------------------------------------------------

    def _best_release(self, artist: str, album: str) -> str | None:
        query = f"release:{_phrase(album)} AND artist:{_phrase(artist)}"
        answer = self._get("release/", {"query": query, "fmt": "json", "limit": "10"})
        releases = answer.get("releases")
        if not isinstance(releases, list):
            raise FetchError(
                f"MusicBrainz answered the search for {album!r} without a list of releases; "
                + _HINT
            )
        wanted_album, wanted_artist = _norm(album), _norm(artist)

        def rank(release: dict[str, Any]) -> tuple[int, bool, bool, bool]:
            credit = release.get("artist-credit") or []
            names = " ".join(str(part.get("name", "")) for part in credit if isinstance(part, dict))
            return (
                int(release.get("score") or 0),
                _norm(str(release.get("title", ""))) == wanted_album,
                _norm(names) == wanted_artist,
                release.get("status") == "Official",
            )

        candidates = [r for r in releases if isinstance(r, dict) and r.get("id")]
        if not candidates:
            return None
        best = max(candidates, key=rank)  # max keeps the first of equals: MusicBrainz's order
        if rank(best)[0] < self.min_score:
            return None
        return str(best["id"])

    def _titles(self, release: str) -> tuple[str, ...] | None:
        answer = self._get(
            f"release/{urllib.parse.quote(release)}", {"inc": "recordings", "fmt": "json"}
        )
        media = answer.get("media")
        if not isinstance(media, list):
            raise FetchError(f"MusicBrainz answered release {release} without its media; " + _HINT)
        titles: list[str] = []
        ordered_media = sorted(
            (m for m in media if isinstance(m, dict)), key=lambda m: _position(m)
        )
        for medium in ordered_media:
            tracks = [t for t in medium.get("tracks") or [] if isinstance(t, dict)]
            for track in sorted(tracks, key=_position):
                recording = track.get("recording")
                title = track.get("title") or (
                    recording.get("title") if isinstance(recording, dict) else None
                )
                if isinstance(title, str) and title.strip():
                    titles.append(title.strip())
        return tuple(titles) or None

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        url = self.base_url + path + "?" + urllib.parse.urlencode(params)
        wait = self._last_request + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        request = urllib.request.Request(
            url, headers={"User-Agent": self.user_agent, "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            busy = " (MusicBrainz is busy; try again in a minute)" if error.code == 503 else ""
            raise FetchError(
                f"MusicBrainz refused {url}: HTTP {error.code} {error.reason}{busy}; " + _HINT
            ) from error
        except urllib.error.URLError as error:
            raise FetchError(
                f"cannot reach MusicBrainz at {url}: {error.reason}; " + _HINT
            ) from error
        except TimeoutError as error:
            raise FetchError(
                f"MusicBrainz did not answer within {self.timeout:g} s ({url}); " + _HINT
            ) from error
        except OSError as error:
            raise FetchError(f"cannot reach MusicBrainz at {url}: {error}; " + _HINT) from error
        finally:
            self._last_request = time.monotonic()
        try:
            data = json.loads(body)
        except ValueError as error:
            raise FetchError(f"MusicBrainz sent something that is not JSON from {url}") from error
        if not isinstance(data, dict):
            raise FetchError(f"MusicBrainz sent unexpected JSON from {url}")
        return data


def _position(item: dict[str, Any]) -> int:
    value = item.get("position")
    return value if isinstance(value, int) else 0
