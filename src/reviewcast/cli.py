"""The command line. Thin: parse arguments, load the show, call one function, map errors to exits.

Heavy modules (audio, engines, feeds) are imported inside the commands so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewcast import __version__
from reviewcast.config import CONFIG_NAME, DEFAULT_BASE_URL, ShowConfig, load_config
from reviewcast.errors import ConfigError, ReviewcastError

if TYPE_CHECKING:
    from reviewcast.models import Script
    from reviewcast.pipeline import RenderReport

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Turn written music reviews into a podcast: each review becomes a narrated episode with a cue
and a chapter at every track of the album it discusses, and the show's RSS feed is updated.

Every command acts on the show in the current folder, or on the one named with --show DIR.
Start with `reviewcast init DIR`, put reviews (.txt, .md, .html) in DIR/reviews/, then run
`reviewcast render` in DIR.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reviewcast` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # NumPy's OpenBLAS starts a thread per core when it is imported, and they spin for ~80 ms of
    # CPU; reviewcast's matrix products are small, and its cores are busy with ffmpeg and the
    # other workers. Set before the commands import NumPy; the render's workers inherit it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.basicConfig(format="reviewcast: warning: %(message)s", level=logging.WARNING)
    if not hasattr(args, "command"):
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = args.command(args)
        return code
    except ReviewcastError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"reviewcast: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("reviewcast: interrupted; finished episodes are kept", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--show",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the show's folder (holding show.toml); default: the current folder",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    common.add_argument("-q", "--quiet", action="store_true", help="print only errors")

    parser = argparse.ArgumentParser(
        prog="reviewcast",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"reviewcast {__version__}")
    parser.set_defaults(verbose=False)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, desc: str) -> Any:
        p = sub.add_parser(name, parents=[common], help=help, description=desc)
        p.set_defaults(command=func)
        return p

    p = command(
        "init",
        cmd_init,
        "create a new show folder",
        "Create DIR with show.toml, reviews/, voices/, episodes/ and feed/. "
        "Edit show.toml afterwards to describe your show.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="folder to create the show in")
    p.add_argument("--title", default="My Review Podcast", help="the show's name")
    p.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help=f"where the show will be published (default {DEFAULT_BASE_URL}, "
        "where `reviewcast serve` listens)",
    )
    p.add_argument("--author", default="", help="who makes the show")
    p.add_argument("--email", default="", help="the owner's e-mail, for podcast directories")
    p.add_argument("--language", default="en", help="the show's language code (default en)")

    p = command(
        "render",
        cmd_render,
        "render reviews to episodes and update the feed",
        "Render each REVIEW (default: every review in reviews/) that is new or changed to an "
        "episode in episodes/, then rewrite feed/feed.xml. A review is re-rendered when its "
        "text, sidecar, tracklist, the show's settings, a template, the voice or the engine "
        "changed; a review rendered before replaces its own episode (same guid).",
    )
    p.add_argument("reviews", nargs="*", type=Path, metavar="REVIEW", help="review files")
    p.add_argument(
        "--tracklist",
        type=Path,
        metavar="FILE",
        help="the album's tracklist, one title per line (when the review has none)",
    )
    p.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another render of the same show to finish",
    )
    p.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="use N cores: N reviews at once in worker processes, or one review's pieces N "
        "at a time (default: the cores available; 1: one thing at a time)",
    )
    p.add_argument("--force", action="store_true", help="re-render even unchanged reviews")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="list what would be rendered and why, touching nothing",
    )

    p = command(
        "preview",
        cmd_preview,
        "print a review's script without rendering audio",
        "Print the script of REVIEW as a listener will hear it, segment by segment: intro, "
        "review, the cue at each track, outro.",
    )
    p.add_argument("review", type=Path, metavar="REVIEW", help="the review file")
    p.add_argument("--json", action="store_true", help="print JSON for tools and tests")
    p.add_argument("--tracklist", type=Path, metavar="FILE", help="the album's tracklist")

    p = command(
        "serve",
        cmd_serve,
        "serve the show's feed and episodes over HTTP",
        "Serve the published show (feed/ and episodes/) so podcast apps can subscribe. "
        "Binds to 127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")

    p = command(
        "build",
        cmd_build,
        "copy the publishable site to a folder for static hosting",
        "Write the feed and episodes (published files only) to OUT, for nginx, Caddy, S3 or "
        "GitHub Pages. Upload OUT so that base_url points at it.",
    )
    p.add_argument(
        "out", nargs="?", type=Path, default=None, metavar="OUT", help="default: _site in the show"
    )

    p = command(
        "check",
        cmd_check,
        "lint the show as a podcast directory would",
        "Check the feed and every episode against what Apple Podcasts and other directories "
        "require: tags, artwork, enclosure lengths, guids, dates, chapters, transcripts and "
        "loudness. Exits non-zero when anything is an error.",
    )
    p.add_argument(
        "--no-loudness", action="store_true", help="skip measuring each episode's loudness"
    )

    p = command(
        "add",
        cmd_add,
        "save a review from its web page into reviews/",
        "Fetch the review page at URL, check that reviewcast can read it, and save it in "
        "reviews/ with its source URL recorded. Adding the same URL again updates it.",
    )
    p.add_argument("url", metavar="URL", help="the review's web page")

    p = command(
        "pull",
        cmd_pull,
        "save new posts from a blog's feed as reviews",
        "Read a blog's RSS or Atom feed and save each new post in reviews/ (an updated post is "
        "updated; one already pulled is not pulled again). Without FEED_URL, pulls every feed "
        "in the [sources] table of show.toml. Then `reviewcast render` makes the episodes.",
    )
    p.add_argument("feeds", nargs="*", metavar="FEED_URL", help="a blog's feed (or home page)")

    p = command(
        "cache",
        cmd_cache,
        "show or clear the cache",
        "Synthesised speech (per sentence), encoded pieces of episodes and generated covers are "
        "cached in .reviewcast/cache, so re-rendering after a small change is fast. `cache` "
        "shows its size; `cache clear` empties it. The least recently used entries are removed "
        "when it grows past cache_limit_mb.",
    )
    p.add_argument("action", nargs="?", choices=["info", "clear"], default="info")

    command(
        "voices",
        cmd_voices,
        "list speech engines and their voices",
        "List every installed speech engine, whether it can run here, and its voice ids.",
    )
    return parser


# -- commands ---------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> ShowConfig:
    return load_config(args.show)


def cmd_init(args: argparse.Namespace) -> int:
    from reviewcast.config import config_from_mapping, render_show_toml

    root: Path = args.dir
    if (root / CONFIG_NAME).exists():
        raise ConfigError("a show already exists here; edit its show.toml instead", path=root)
    settings = {
        "title": args.title,
        "base_url": args.base_url,
        "author": args.author,
        "owner_name": args.author,
        "owner_email": args.email,
        "language": args.language,
    }
    config_from_mapping(root, settings, root / CONFIG_NAME)  # validate before creating anything
    for folder in ("reviews", "voices", "episodes", "feed"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / CONFIG_NAME).write_text(render_show_toml(**settings), encoding="utf-8")
    preset = Path(__file__).parent / "voices" / "default.toml"
    target = root / "voices" / "default.toml"
    if not target.exists():
        target.write_text(preset.read_text(encoding="utf-8"), encoding="utf-8")
    if not args.quiet:
        print(f"Created the show '{args.title}' in {root}/")
        print(f"Next: put reviews in {root / 'reviews'}/ and run `reviewcast render` in {root}.")
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from reviewcast.pipeline import RenderInterrupted, default_jobs, find_reviews, render

    config = _config(args)
    paths = list(args.reviews) or find_reviews(config)
    if not paths:
        raise ConfigError(
            "no reviews to render: put .txt, .md or .html files in reviews/ "
            "or name them: reviewcast render FILE…",
            path=config.root / "reviews",
        )
    jobs = args.jobs if args.jobs is not None else default_jobs()
    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    options: dict[str, Any] = {
        "tracklist_file": args.tracklist,
        "wait": args.wait,
        "jobs": jobs,
        "force": args.force,
        "dry_run": args.dry_run,
    }
    if args.dry_run:
        report = render(config, paths, **options)
        _print_plan(report)
        return EXIT_OK
    try:
        with _progress(args, len(paths)) as progress:
            report = render(config, paths, progress=progress, **options)
    except RenderInterrupted as interrupt:
        _print_report(interrupt.report, quiet=args.quiet)
        print("reviewcast: interrupted; finished episodes are published", file=sys.stderr)
        return 130
    _print_report(report, quiet=args.quiet)
    return EXIT_FAILED if report.failed else EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    from reviewcast.pipeline import load_script

    config = _config(args)
    script = load_script(config, args.review, tracklist_file=args.tracklist)
    if args.json:
        print(json.dumps(script_json(script), ensure_ascii=False, indent=2))
    else:
        print(script_text(script))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from reviewcast.serve import serve

    serve(_config(args), host=args.host, port=args.port)
    return EXIT_OK


def cmd_build(args: argparse.Namespace) -> int:
    from reviewcast.site import build_site

    config = _config(args)
    out = build_site(config.root, args.out or config.root / "_site")
    if not args.quiet:
        print(f"wrote the site to {out}/ — upload it so that {config.base} points at it")
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from reviewcast.check import check_show

    findings = check_show(args.show, loudness=not args.no_loudness)
    for finding in findings:
        if finding.level == "error" or not args.quiet:
            print(finding)
    errors = sum(f.level == "error" for f in findings)
    if not args.quiet:
        warnings = len(findings) - errors
        print(f"{errors} errors, {warnings} warnings" if findings else "no problems found")
    return EXIT_FAILED if errors else EXIT_OK


def cmd_add(args: argparse.Namespace) -> int:
    from reviewcast.lock import show_lock
    from reviewcast.sources import add_url

    config = _config(args)
    with show_lock(config.root):
        path = add_url(config.root, args.url)
    if not args.quiet:
        print(f"saved {path.relative_to(config.root)}; `reviewcast render` makes its episode")
    return EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    from reviewcast.lock import show_lock
    from reviewcast.sources import pull

    config = _config(args)
    feeds = list(args.feeds) or [url for _, url in config.sources]
    if not feeds:
        raise ConfigError(
            "no feed to pull: name one (reviewcast pull FEED_URL) or list your blog's feed in "
            'show.toml: [sources] blog = "https://…/feed"',
            path=config.root / CONFIG_NAME,
        )
    failed = 0
    with show_lock(config.root):
        for feed in feeds:
            try:
                report = pull(config.root, feed)
            except ReviewcastError as error:
                print(f"reviewcast: error: {error}", file=sys.stderr)
                failed += 1
                continue
            for url, reason in report.failed:
                print(f"reviewcast: error: {url}: {reason}", file=sys.stderr)
            failed += len(report.failed)
            if not args.quiet:
                for path in report.added:
                    print(f"added   {path.relative_to(config.root)}")
                for path in report.updated:
                    print(f"updated {path.relative_to(config.root)}")
                print(
                    f"{feed}: {len(report.added)} new, {len(report.updated)} updated, "
                    f"{report.unchanged} unchanged, {len(report.failed)} failed"
                )
    return EXIT_FAILED if failed else EXIT_OK


def cmd_cache(args: argparse.Namespace) -> int:
    from reviewcast.speak import CACHE_ROOT, FileCache

    config = _config(args)
    cache = FileCache(config.root / CACHE_ROOT)
    if args.action == "clear":
        freed = cache.clear()
        print(f"cleared the cache ({freed / 1e6:.1f} MB)")
    else:
        parts = (
            ", ".join(
                f"{part.name} {FileCache(part).size() / 1e6:.1f} MB"
                for part in sorted(cache.root.iterdir())
                if part.is_dir()
            )
            if cache.root.is_dir()
            else "empty"
        )
        print(
            f"cache: {cache.root} holds {cache.size() / 1e6:.1f} MB ({parts}; "
            f"limit {config.cache_limit_mb} MB)"
        )
    return EXIT_OK


def engine_voices(name: str) -> tuple[str | None, list[str]]:
    """(why the engine can't run, or None; its voices). Runs in a process of its own."""
    from reviewcast.speech import engine_classes, get_engine

    reason = engine_classes()[name].availability()
    if reason:
        return reason, []
    try:
        return None, get_engine(name).voices()
    except ReviewcastError as error:
        return str(error), []


def cmd_voices(args: argparse.Namespace) -> int:
    import concurrent.futures as cf
    import multiprocessing

    from reviewcast.speech import engine_classes

    names = sorted(engine_classes())
    # One process per engine: eSpeak NG can start only once per process, in one mode, so
    # listing pyttsx3's and the direct engine's voices in one process would fail the second.
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=2, mp_context=context, max_tasks_per_child=1) as pool:
        results = list(pool.map(engine_voices, names))
    for name, (reason, voices) in zip(names, results, strict=True):
        if reason:
            print(f"{name}: unavailable: {reason}")
            continue
        print(f"{name}: {len(voices)} voices")
        for voice in voices:
            print(f"  {voice}")
    return EXIT_OK


# -- output -----------------------------------------------------------------------------------


def script_json(script: Script) -> dict[str, Any]:
    """The ``preview --json`` document."""
    r = script.review
    return {
        "review": {
            "title": r.title,
            "artist": r.artist,
            "album": r.album,
            "reviewer": r.reviewer,
            "date": r.date.isoformat() if r.date else None,
            "language": r.language,
        },
        "tracklist": (
            {"origin": script.tracklist.origin, "titles": list(script.tracklist.titles)}
            if script.tracklist
            else None
        ),
        "tracks": [
            {
                "title": t.title,
                "number": t.number,
                "mentioned_as": t.matched,
                "block": t.block,
                "start": t.start,
                "end": t.end,
                "how": t.how,
            }
            for t in script.tracks
        ],
        "segments": [
            {"kind": s.kind, "text": s.text, "spoken": s.say, "voice": s.voice}
            for s in script.segments
        ],
        "removed": list(r.removed),
    }


def script_text(script: Script) -> str:
    """The script as a listener will hear it (normalised: what the engine is given), one
    paragraph per block, cues marked."""
    lines: list[str] = []
    current: tuple[str, int | None] | None = None
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            lines.append(" ".join(paragraph))
            lines.append("")
            paragraph.clear()

    for seg in script.segments:
        key = (seg.kind if seg.kind in ("intro", "outro") else "body", seg.block)
        if seg.kind == "cue":
            flush()
            number = f"track {seg.track.number}: " if seg.track and seg.track.number else ""
            lines.append(f"♪ [cue — {number}{seg.text}]")
            current = key
            continue
        if key != current:
            flush()
            if seg.kind in ("intro", "outro") and (current is None or current[0] != seg.kind):
                lines.append(f"── {seg.kind} ({seg.voice}) ──")
            elif seg.kind in ("review", "quote") and (current is None or current[0] != "body"):
                lines.append(f"── review ({seg.voice}) ──")
            current = key
        paragraph.append(f"“{seg.say}”" if seg.kind == "quote" else seg.say)
    flush()
    if script.review.removed:
        lines.append("── left out (not read aloud) ──")
        lines.extend(f"  {item}" for item in script.review.removed)
    return "\n".join(lines).rstrip() + "\n"


class _NullProgress:
    def __enter__(self) -> Callable[[Path, str, int, int], None] | None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _progress(args: argparse.Namespace, total: int) -> Any:
    """A rich progress bar on a terminal; nothing when quiet or piped."""
    if args.quiet or not sys.stderr.isatty():
        return _NullProgress()
    from reviewcast.progress import RenderProgress

    return RenderProgress(total)


def _print_plan(report: RenderReport) -> None:
    for item in report.plans:
        if item.needed:
            print(f"would render {item.path}: {', '.join(item.reasons)}")
        else:
            print(f"unchanged    {item.path}")
    todo = sum(p.needed for p in report.plans)
    print(f"{todo} to render, {len(report.plans) - todo} unchanged (dry run: nothing was touched)")


def _print_report(report: RenderReport, *, quiet: bool) -> None:
    for outcome in report.failed:
        print(f"reviewcast: error: {outcome.error}", file=sys.stderr)
    if quiet:
        return
    for outcome in report.rendered:
        r = outcome.record
        assert r is not None
        minutes, seconds = divmod(round(r.duration), 60)
        tracks = sum(c.kind == "track" for c in r.chapters)
        print(f"rendered {outcome.path} → {r.audio} ({minutes}:{seconds:02d}, {tracks} tracks)")
    if report.feed is not None:
        print(f"feed: {report.feed} ({report.episodes} episodes)")
    parts = [f"{len(report.rendered)} rendered"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} unchanged")
    if report.failed:
        parts.append(f"{len(report.failed)} failed")
    print(", ".join(parts))
    if not report.rendered and not report.failed and report.skipped:
        print("nothing to do: no review changed since its last render (use --force to re-render)")
