"""show.toml → one typed, validated ShowConfig. Every setting has a default, a type and a doc line.

The schema below is the single source of truth: ``reviewcast init`` writes show.toml from it,
the README's reference table is checked against it, and loading reports every problem at once.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from reviewcast.errors import ConfigError

CONFIG_NAME = "show.toml"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/"
#: The Podcasting 2.0 namespace's UUID for podcast:guid (UUIDv5 of the feed URL under it).
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def _setting(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class ShowConfig:
    """A show's settings, from show.toml. ``root`` is the show's folder."""

    root: Path
    title: str = _setting("My Review Podcast", "The show's name, as podcast apps list it.")
    description: str = _setting(
        "Music reviews, read aloud.",
        "What the show is about; at most 4000 bytes (Apple's limit).",
    )
    author: str = _setting("", "Who makes the show (itunes:author); defaults to owner_name.")
    owner_name: str = _setting("", "The owner's name, for podcast directories (itunes:owner).")
    owner_email: str = _setting("", "The owner's e-mail, for podcast directories (itunes:owner).")
    language: str = _setting("en", "The show's language (ISO 639-1 code such as en or de).")
    base_url: str = _setting(
        DEFAULT_BASE_URL,
        "Where the show is published; every URL in the feed starts with it.",
    )
    link: str = _setting("", "The show's website; defaults to its web page at base_url.")
    category: str = _setting(
        "Music > Music Commentary",
        "Apple Podcasts category, 'Category > Subcategory'.",
    )
    explicit: bool = _setting(False, "Whether episodes contain explicit language.")
    artwork: str = _setting(
        "",
        "Square cover art (JPEG or PNG, 1400–3000 px), relative to the show; empty: generated.",
    )
    voice: str = _setting(
        "default", "The host's voice preset (voices/<name>.toml): intro, outro, announcements."
    )
    review_voice: str = _setting("", "Voice preset for the review itself; empty: the host's.")
    quote_voice: str = _setting(
        "",
        "Voice preset for block quotes and lyrics; empty: the review's voice, pitched apart.",
    )
    bitrate: int = _setting(64, "MP3 bitrate in kbit/s.")
    sample_rate: int = _setting(44100, "MP3 sample rate in Hz.")
    loudness: float = _setting(-16.0, "Target integrated loudness in LUFS.")
    true_peak: float = _setting(-1.0, "Ceiling for true peaks in dBTP.")
    copyright: str = _setting("", "Copyright line for the feed; empty: none.")
    locked: bool = _setting(True, "podcast:locked: refuse moves of the feed to other hosts.")
    show_type: str = _setting("episodic", "itunes:type: episodic or serial.")
    cue: str = _setting(
        "", "Sound file played at each track cue, relative to the show; empty: built-in."
    )
    announce_tracks: bool = _setting(
        False,
        "Say the track's name after its cue ('Track three: Crystalised').",
    )
    clip_seconds: float = _setting(
        6.0,
        "Length of a track clip (clips/<title>.mp3) played at its cue.",
    )
    musicbrainz: bool = _setting(
        False,
        "Look up a tracklist on MusicBrainz (online) when a review has none; cached beside it.",
    )
    musicbrainz_url: str = _setting(
        "https://musicbrainz.org/ws/2/",
        "The MusicBrainz web service to ask (a mirror, or a local server in tests).",
    )
    cache_limit_mb: int = _setting(
        1024,
        "Size limit of the cache (.reviewcast/cache: speech, encoded pieces, covers) in MB; "
        "least recently used go first.",
    )
    # Tables: they come last in show.toml, after every plain setting.
    reviewer_voices: tuple[tuple[str, str], ...] = _setting(
        (),
        "[reviewer_voices] table: reviewer name = voice preset, so each keeps one voice.",
    )
    language_voices: tuple[tuple[str, str], ...] = _setting(
        (),
        "[language_voices] table: language code = voice preset for reviews in that language.",
    )
    sources: tuple[tuple[str, str], ...] = _setting(
        (),
        "[sources] table: name = a blog's RSS or Atom feed URL, for a plain `reviewcast pull`.",
    )

    def voice_for_reviewer(self, reviewer: str | None) -> str | None:
        """The preset named for this reviewer in [reviewer_voices], if any."""
        return dict(self.reviewer_voices).get(reviewer) if reviewer else None

    def voice_for_language(self, language: str | None) -> str | None:
        """The preset named for this language in [language_voices], if any."""
        return dict(self.language_voices).get(language) if language else None

    # -- derived values ---------------------------------------------------------------------

    @property
    def base(self) -> str:
        """base_url with exactly one trailing slash."""
        return self.base_url.rstrip("/") + "/"

    @property
    def feed_url(self) -> str:
        return self.base + "feed/feed.xml"

    @property
    def site_url(self) -> str:
        return self.link or self.base + "feed/"

    @property
    def podcast_guid(self) -> str:
        """podcast:guid: UUIDv5 of the feed URL without scheme or trailing slashes."""
        bare = re.sub(r"^[a-zA-Z]+://", "", self.feed_url).rstrip("/")
        return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))

    @property
    def author_name(self) -> str:
        return self.author or self.owner_name or self.title

    @property
    def categories(self) -> tuple[str, str | None]:
        main, _, sub = (part.strip() for part in self.category.partition(">"))
        return main, (sub or None)

    def url_for(self, relative: str) -> str:
        """The absolute URL of a published file given relative to the show, segments quoted."""
        path = relative.replace("\\", "/").lstrip("/")
        return self.base + quote(path, safe="/")

    def path(self, relative: str) -> Path:
        return self.root / relative


SETTINGS: tuple[dataclasses.Field[Any], ...] = tuple(
    f for f in dataclasses.fields(ShowConfig) if f.name != "root"
)


def setting_doc(name: str) -> str:
    """The one-line documentation of a setting."""
    for f in SETTINGS:
        if f.name == name:
            return str(f.metadata["doc"])
    raise KeyError(name)


def find_show(start: Path) -> Path:
    """The show folder: ``start`` itself when it holds show.toml, else a clear error."""
    if (start / CONFIG_NAME).is_file():
        return start
    raise ConfigError(
        f"no {CONFIG_NAME} here. Run `reviewcast init DIR` to create a show, "
        "or name one with --show DIR.",
        path=start.resolve(),
    )


def load_config(root: Path) -> ShowConfig:
    """Read ``root/show.toml``; every problem is reported together in one ConfigError."""
    path = root / CONFIG_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        find_show(root)
        raise
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=path) from exc
    return config_from_mapping(root, data, path)


def config_from_mapping(root: Path, data: dict[str, Any], path: Path) -> ShowConfig:
    """Validate a mapping of settings into a ShowConfig."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    known = {f.name: f for f in SETTINGS}
    for key, value in data.items():
        spec = known.get(key)
        if spec is None:
            close = [name for name in known if name.startswith(key[:3])]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            problems.append(f"unknown setting '{key}'{hint}")
            continue
        expected = type(spec.default)
        if expected is tuple:  # a table of names → preset names
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                problems.append(f'[{key}] should be a table of names = "preset"')
                continue
            values[key] = tuple(sorted(value.items()))
            continue
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            problems.append(
                f"'{key}' should be {expected.__name__}, not {type(value).__name__} ({value!r})"
            )
            continue
        values[key] = value
    problems.extend(_check_values({**{f.name: f.default for f in SETTINGS}, **values}))
    if problems:
        raise ConfigError("; ".join(problems), path=path)
    return ShowConfig(root=root, **values)


def _check_values(v: dict[str, Any]) -> list[str]:
    problems = []
    url = urlsplit(v["base_url"])
    if url.scheme not in ("http", "https") or not url.netloc:
        problems.append(f"'base_url' must be an absolute http(s) URL, not {v['base_url']!r}")
    if not any(ch.isalnum() for ch in v["title"]):
        problems.append("'title' must have letters or digits in it")
    if len(v["description"].encode("utf-8")) > 4000:
        problems.append("'description' is over 4000 bytes (Apple's limit)")
    if not re.fullmatch(r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*", v["language"]):
        problems.append(
            f"'language' should be a code such as 'en' or 'en-US', not {v['language']!r}"
        )
    if v["bitrate"] not in (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320):
        problems.append(f"'bitrate' {v['bitrate']} is not an MP3 bitrate (try 64 or 96)")
    if v["sample_rate"] not in (22050, 24000, 32000, 44100, 48000):
        problems.append(f"'sample_rate' {v['sample_rate']} is not supported (use 44100)")
    if not -30 <= v["loudness"] <= -10:
        problems.append("'loudness' should be between -30 and -10 LUFS")
    if not -9 <= v["true_peak"] <= 0:
        problems.append("'true_peak' should be between -9 and 0 dBTP")
    if v["show_type"] not in ("episodic", "serial"):
        problems.append("'show_type' must be 'episodic' or 'serial'")
    if v["cache_limit_mb"] < 0:
        problems.append("'cache_limit_mb' must not be negative")
    for name, feed in v["sources"]:
        if urlsplit(feed).scheme not in ("http", "https"):
            problems.append(f"[sources] {name} should be an http(s) feed URL, not {feed!r}")
    if not 0.5 <= v["clip_seconds"] <= 30:
        problems.append("'clip_seconds' should be between 0.5 and 30")
    names = [v["voice"], v["review_voice"], v["quote_voice"]]
    names += [p for _, p in v["reviewer_voices"]] + [p for _, p in v["language_voices"]]
    for name in names:
        if name and not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            problems.append(f"voice presets are names of files in voices/, not {name!r}")
    return problems


def render_show_toml(**overrides: Any) -> str:
    """show.toml text for a new show: every setting, its doc line, and its value."""
    lines = [
        "# reviewcast show settings. Every setting is optional; the value shown is the default",
        "# unless `reviewcast init` set it. See README.md, 'show.toml reference'.",
        "",
    ]
    for f in SETTINGS:
        value = overrides.get(f.name, f.default)
        lines.append(f"# {f.metadata['doc']}")
        if isinstance(value, tuple):
            lines.append(f"[{f.name}]")
            lines.extend(f"{_toml_value(k)} = {_toml_value(v)}" for k, v in value)
            example = {
                "reviewer_voices": '"Ann Smith" = "ann"',
                "language_voices": 'de = "german"',
                "sources": 'blog = "https://example.org/reviews/feed.xml"',
            }[f.name]
            lines.append(f"# {example}")
        else:
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'
