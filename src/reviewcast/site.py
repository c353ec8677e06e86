"""The publishable site: which files of a show are public, their types, and `reviewcast build`.

A show folder holds private things (show.toml, reviews/, voices/, templates/, .reviewcast/) next
to the two published folders, episodes/ and feed/. This module is the one place that decides
what is public; serve.py answers only for what ``is_published`` allows, and ``build_site`` copies
exactly ``published_files``. The rules, strictest first:

- only files under episodes/ and feed/;
- no part of the path starts with a dot: ``.tmp-*`` files are writes in progress (fsutil), and
  hidden files are never meant for listeners;
- not episodes/<slug>/episode.json: the record names the private review file it came from and
  no podcast app needs it;
- only the types in ``MEDIA_TYPES``, so a stray file dropped into a published folder (a backup,
  an editor's swap file) stays private;
- the file's real location (after symlinks) is itself inside the same published folder.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from reviewcast.config import find_show
from reviewcast.errors import ReviewcastError
from reviewcast.fsutil import atomic_path
from reviewcast.records import EPISODES_DIR, RECORD_NAME

FEED_DIR = "feed"
PUBLISHED_DIRS = (EPISODES_DIR, FEED_DIR)
#: Folders of a show that hold private files; `reviewcast build` never writes into them.
PRIVATE_DIRS = ("reviews", "voices", "templates", ".reviewcast")
FEED_FILE = "feed.xml"

#: The Podcasting 2.0 chapters type (podcast:chapters); chapters-<hash>.json files get it.
CHAPTERS_TYPE = "application/json+chapters"
#: Content-Type by suffix. A file whose suffix is not here is not published.
MEDIA_TYPES: dict[str, str] = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".xml": "application/rss+xml; charset=utf-8",
    ".vtt": "text/vtt; charset=utf-8",
    ".srt": "application/x-subrip; charset=utf-8",
    ".json": "application/json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".ico": "image/x-icon",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}


def media_type(name: str) -> str | None:
    """The Content-Type a published file named ``name`` is served with; None: not published."""
    lowered = name.lower()
    if lowered.startswith("chapters-") and lowered.endswith(".json"):
        return CHAPTERS_TYPE
    return MEDIA_TYPES.get(PurePosixPath(lowered).suffix)


def is_published(rel: PurePosixPath | str) -> bool:
    """Whether the path ``rel`` (relative to the show folder, '/'-separated) may be public."""
    parts = PurePosixPath(rel).parts
    if len(parts) < 2 or parts[0] not in PUBLISHED_DIRS:
        return False
    for part in parts:
        if part in ("", ".", "..") or part.startswith(".") or "\\" in part or "\x00" in part:
            return False
    if parts[0] == EPISODES_DIR and parts[-1] == RECORD_NAME:
        return False
    return media_type(parts[-1]) is not None


def resolve_published(folder: Path, rel_in_folder: str) -> Path | None:
    """The real file behind ``folder/rel_in_folder`` when it is published, else None.

    ``folder`` is episodes/ or feed/ of a show; a symlink may point elsewhere inside the same
    folder but never out of it. Never raises for odd input: such a path is simply not published.
    """
    try:
        real_folder = Path(os.path.realpath(folder))
        real = Path(os.path.realpath(folder / rel_in_folder))
        if not real.is_relative_to(real_folder) or real == real_folder:
            return None
        for rel in (rel_in_folder, real.relative_to(real_folder).as_posix()):
            if not is_published(PurePosixPath(folder.name) / rel):
                return None
        return real if real.is_file() else None
    except (OSError, ValueError, RuntimeError):  # name too long, NUL byte, symlink loop
        return None


def published_files(show_root: Path) -> list[tuple[PurePosixPath, Path]]:
    """Every published file of the show: (its path relative to the show, its real path).

    Sorted, episodes before the feed, and feed/feed.xml last: copying in this order never
    shows a host a feed whose files are not there yet.
    """
    found: list[tuple[PurePosixPath, Path]] = []
    for name in PUBLISHED_DIRS:
        folder = show_root / name
        if not folder.is_dir():
            continue
        for rel in sorted(_walk(folder)):
            real = resolve_published(folder, rel)
            if real is not None:
                found.append((PurePosixPath(name) / rel, real))
    feed = PurePosixPath(FEED_DIR, FEED_FILE)
    found.sort(key=lambda item: item[0] == feed)  # stable: only moves feed.xml to the end
    return found


def _walk(folder: Path) -> Iterator[str]:
    """'/'-separated paths of the files under ``folder``; hidden folders are not entered."""
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        base = Path(dirpath).relative_to(folder)
        for filename in filenames:
            yield (base / filename).as_posix()


# -- reviewcast build ------------------------------------------------------------------------


def build_site(show_root: Path, out: Path) -> Path:
    """Write the show's publishable site (episodes/ and feed/) to ``out`` and return it.

    For hosting on nginx, Caddy, S3 or GitHub Pages. Files are replaced one by one, each
    atomically, episodes first and feed/feed.xml last, so a host serving ``out`` meanwhile
    never lists an episode whose audio is missing. Afterwards ``out/episodes`` and ``out/feed``
    hold exactly the published files (others there are removed); nothing else in ``out`` is
    touched. Unchanged files (same size and modification time) are not copied again.
    """
    root = find_show(show_root)
    out = out.absolute()
    _check_output(root, out)
    files = published_files(root)
    if not any(rel == PurePosixPath(FEED_DIR, FEED_FILE) for rel, _ in files):
        raise ReviewcastError(
            "nothing to publish yet: feed/feed.xml is missing. Run `reviewcast render` first.",
            path=root,
        )
    wanted: set[PurePosixPath] = set()
    try:
        for rel, source in files:
            wanted.add(rel)
            _copy(source, out / rel)
        for name in PUBLISHED_DIRS:
            _prune(out / name, PurePosixPath(name), wanted)
    except OSError as exc:
        raise ReviewcastError(
            f"could not write the site: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename else ""),
            path=out,
        ) from exc
    return out


def _check_output(root: Path, out: Path) -> None:
    """Refuse an ``out`` that is the show itself or lies in one of its folders."""
    real_root = Path(os.path.realpath(root))
    own = {name: real_root / name for name in (*PRIVATE_DIRS, *PUBLISHED_DIRS)}
    # out/episodes and out/feed are pruned: neither may be (a link to) the show's own folders.
    targets = [out, *(out / name for name in PUBLISHED_DIRS)]
    for target in targets:
        real = Path(os.path.realpath(target))
        if real == real_root:
            raise ReviewcastError(
                "the site cannot be built into the show folder itself; name another folder, "
                "such as `reviewcast build ../site`",
                path=out,
            )
        for name, folder in own.items():
            if real.is_relative_to(folder):
                raise ReviewcastError(
                    f"the site cannot be built inside the show's {name}/ folder "
                    f"({'it is private' if name in PRIVATE_DIRS else 'it is the source'}); "
                    "name a folder outside it",
                    path=out,
                )
    if out.exists() and not out.is_dir():
        raise ReviewcastError("exists and is not a folder; name a folder for the site", path=out)


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically unless an identical copy is already there."""
    src = source.stat()
    try:
        dst = target.lstat()
        if (
            not target.is_symlink()
            and target.is_file()
            and (dst.st_size, dst.st_mtime_ns) == (src.st_size, src.st_mtime_ns)
        ):
            return
    except FileNotFoundError:
        pass
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        # Keep the modification time: the next build sees the copy is current, and hosts
        # send the same Last-Modified as `reviewcast serve`.
        os.utime(tmp, ns=(src.st_atime_ns, src.st_mtime_ns))


def _prune(folder: Path, rel_folder: PurePosixPath, wanted: set[PurePosixPath]) -> None:
    """Remove what ``folder`` holds beyond ``wanted`` (stale episodes, interrupted copies)."""
    if folder.is_symlink() or not folder.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(folder, topdown=False):
        base = Path(dirpath)
        rel_base = rel_folder / base.relative_to(folder).as_posix()
        for name in filenames:
            if rel_base / name not in wanted:
                (base / name).unlink(missing_ok=True)
        for name in dirnames:
            sub = base / name
            if sub.is_symlink():
                sub.unlink()
            elif not any(sub.iterdir()):
                sub.rmdir()


#: A working nginx server block for a site written by `reviewcast build`. Replace the two
#: example values (server_name, root). Range requests, ETag and If-Modified-Since are nginx's
#: defaults for static files; the `types` block maps the podcast's files to the types podcast
#: apps and web players expect, and web players may fetch transcripts and chapters from other
#: origins (CORS).
NGINX_SNIPPET = r"""server {
    listen 80;
    server_name podcast.example.org;
    # The folder `reviewcast build` wrote (it holds episodes/ and feed/).
    root /srv/podcast/site;

    # `types` replaces nginx's table here, so it lists every type the site uses.
    types {
        audio/mpeg              mp3;
        audio/mp4               m4a;
        application/rss+xml     xml;
        text/vtt                vtt;
        application/x-subrip    srt;
        application/json        json;
        image/jpeg              jpg jpeg;
        image/png               png;
        image/webp              webp;
        image/svg+xml           svg;
        text/html               html;
        text/css                css;
        text/javascript         js;
        text/plain              txt;
    }
    default_type application/octet-stream;
    charset utf-8;
    charset_types application/rss+xml text/vtt application/x-subrip text/css text/plain;

    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Expose-Headers "Content-Length, Content-Range, ETag" always;

    location = / {
        return 302 /feed/;
    }
    location /feed/ {
        index index.html;
        # Podcast apps poll the feed: let them revalidate with ETag instead of caching blindly.
        # (An add_header here hides the server's, so the CORS lines are repeated.)
        add_header Cache-Control "no-cache" always;
        add_header Access-Control-Allow-Origin "*" always;
        add_header Access-Control-Expose-Headers "Content-Length, Content-Range, ETag" always;
    }
    location /episodes/ {
        # Regexes are tried in order, nested ones before the server's: hidden files first.
        location ~ /\. {
            return 404;
        }
        # Chapters files: the Podcasting 2.0 type (podcast:chapters).
        location ~ /chapters-[^/]*\.json$ {
            types { }
            default_type application/json+chapters;
        }
    }
    # Hidden and temporary files (.tmp-*) and the episode records are never public; nothing
    # outside the two folders is.
    location ~ (/\.|/episode\.json$) {
        return 404;
    }
    location / {
        return 404;
    }
}
"""
