"""Synthetic shows for the benchmarks: music reviews that read like real ones, and episode records.

Reviews are built from sentence patterns a music critic uses (an opening, the sound, the tracks,
a verdict), with the album's track titles in quotes where the review discusses them, so that
reading, sentence splitting and track detection do the work they do on real reviews. Half come
as Markdown with front matter, half as plain text; some carry a tracklist (front matter or a
``.tracks.txt`` beside them), some none. Everything is seeded: the same arguments give the same
files.

``fabricate_records`` publishes reviews without rendering them: an ``episode.json`` per review,
with the fingerprint a render would store and tiny placeholder files, so a show of 10,000
episodes takes a minute to make instead of a week to synthesise.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ADJECTIVES = [
    "silver",
    "quiet",
    "broken",
    "golden",
    "hollow",
    "electric",
    "distant",
    "velvet",
    "restless",
    "paper",
    "northern",
    "crimson",
    "slow",
    "tender",
    "burning",
    "frozen",
    "wild",
    "neon",
    "faded",
    "bright",
    "heavy",
    "lonely",
    "secret",
]
NOUNS = [
    "harbour",
    "lantern",
    "engine",
    "river",
    "mirror",
    "garden",
    "signal",
    "winter",
    "highway",
    "static",
    "ocean",
    "cathedral",
    "machine",
    "orchard",
    "horizon",
    "ember",
    "satellite",
    "window",
    "thunder",
    "compass",
    "ghost",
    "tide",
]
FIRST = [
    "Maren",
    "Jonah",
    "Ines",
    "Tomasz",
    "Aiko",
    "Ruth",
    "Callum",
    "Priya",
    "Dmitri",
    "Lucia",
    "Femi",
    "Hanna",
    "Oskar",
]
LAST = [
    "Holt",
    "Ferreira",
    "Novak",
    "Okafor",
    "Lindqvist",
    "Brennan",
    "Sato",
    "Moreau",
    "Quinn",
    "Adeyemi",
    "Varga",
]
GENRES = [
    "synthwave",
    "shoegaze",
    "post-rock",
    "ambient folk",
    "krautrock",
    "dream pop",
    "chamber pop",
    "industrial",
    "trip-hop",
    "math rock",
    "slowcore",
    "art pop",
]
INSTRUMENTS = [
    "a detuned piano",
    "brushed drums",
    "a twelve-string guitar",
    "a modular synthesiser",
    "a muted trumpet",
    "a string quartet",
    "a drum machine",
    "layered vocals",
    "a pedal steel",
    "a Hammond organ",
    "a fretless bass",
    "tape loops",
]
VERBS = [
    "drifts",
    "builds",
    "collapses",
    "shimmers",
    "lurches",
    "unfolds",
    "simmers",
    "glides",
    "stumbles",
    "swells",
    "broods",
    "sparkles",
]

OPENINGS = (
    "There is a moment on {album} where everything goes quiet, and the silence itself "
    "becomes part of the song.",
    "{artist} have spent the better part of a decade circling the sound they finally pin "
    "down on {album}.",
    "It would be easy to file {album} next to every other {genre} record released this year, "
    "but that would miss what makes it strange.",
    "Nobody expected {artist} to follow a debut that loud with something this patient.",
    "The first thing you notice about {album} is how much room it leaves for the listener.",
)
SOUND = (
    "The production is {adj} without being fussy, and {instrument} carries more of the "
    "weight than you might expect.",
    "Most of the record {verb} along at a walking pace, held together by {instrument} and a "
    "rhythm section that never overplays.",
    "Where the band's earlier work leaned on volume, this one leans on texture: {instrument}, "
    "{instrument2}, and long stretches of room tone.",
    "At its best the album sounds {adj} and {adj2} at once, which is harder to pull off "
    "than it looks.",
    "There are echoes of classic {genre} here, but the arrangements are too {adj} to feel "
    "like a tribute.",
    "The mix is crowded in places, and a few of the quieter passages lose their shape under "
    "{instrument}.",
    "Lyrically it circles the same few images, a {noun} at night, a {noun2} left open, and "
    "somehow never wears them out.",
)
TRACK = (
    '"{track}" opens with {instrument} and {verb} for nearly six minutes before the vocals arrive.',
    'The highlight is "{track}", a {adj} piece that {verb} into the best chorus on the record.',
    '"{track}" is the closest thing to a single, and it earns its place with a hook that '
    "sticks for days.",
    'Halfway through, "{track}" slows everything down, letting {instrument} fill the space '
    "the drums leave behind.",
    'I kept coming back to "{track}", which sounds like a {noun} heard through a {noun2}.',
    'Even a slighter song like "{track}" has a detail worth waiting for: {instrument} in the '
    "last minute.",
    'The title track, "{track}", is where the {genre} influence is loudest, and it works.',
)
VERDICT = (
    "It is not a perfect record, but it is a generous one, and it rewards patience.",
    "By the time the last notes fade out, {album} feels less like a collection of songs than "
    "a place you have visited.",
    "{artist} have made the album they were always threatening to make, and it was worth the wait.",
    "Some listeners will find it too {adj}; the rest will be playing it well into next year.",
    "If the second half sags a little, the first half is strong enough to carry it.",
)
TAGLINES = (
    "A slow burn worth the wait.",
    "Louder is not always better.",
    "The quiet ones are the best.",
    "Not the record anyone expected.",
    "Growing up in public.",
)


@dataclass(frozen=True)
class GeneratedReview:
    """One review's files: the review itself and, for some, a tracklist beside it."""

    path: Path
    words: int
    tracklist: Path | None


def _title(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES).title()} {rng.choice(NOUNS).title()}"


def _fill(pattern: str, rng: random.Random, names: dict[str, str], track: str = "") -> str:
    text = pattern.format(
        album=names["album"],
        artist=names["artist"],
        genre=rng.choice(GENRES),
        adj=rng.choice(ADJECTIVES),
        adj2=rng.choice(ADJECTIVES),
        noun=rng.choice(NOUNS),
        noun2=rng.choice(NOUNS),
        verb=rng.choice(VERBS),
        instrument=rng.choice(INSTRUMENTS),
        instrument2=rng.choice(INSTRUMENTS),
        track=track,
    )
    return re.sub(r"\ba (?=[aeiouAEIOU])", "an ", text)


def review_body(
    rng: random.Random, words: int, album: str, artist: str, tracks: Sequence[str]
) -> str:
    """Paragraphs of review prose, about ``words`` long, discussing some of ``tracks`` in order."""
    names = {"album": album, "artist": artist}
    paragraphs = [" ".join(_fill(p, rng, names) for p in (rng.choice(OPENINGS), rng.choice(SOUND)))]
    count = len(paragraphs[0].split())
    discussed = iter(sorted(rng.sample(range(len(tracks)), k=min(len(tracks), 8))))
    verdict = _fill(rng.choice(VERDICT), rng, names)
    budget = words - len(verdict.split())
    while count < budget:
        sentences = []
        for _ in range(rng.randint(3, 5)):
            index = next(discussed, None) if rng.random() < 0.45 else None
            if index is not None:
                sentences.append(_fill(rng.choice(TRACK), rng, names, tracks[index]))
            else:
                sentences.append(_fill(rng.choice(SOUND), rng, names))
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        count += len(paragraph.split())
    paragraphs.append(verdict)
    return "\n\n".join(paragraphs)


def write_review(
    folder: Path, index: int, words: int, rng: random.Random, *, tracklist: str
) -> GeneratedReview:
    """Write review number ``index``: ``tracklist`` is "front matter", "beside" or "none"."""
    artist = rng.choice(
        [f"The {rng.choice(NOUNS).title()}s", f"{rng.choice(FIRST)} {rng.choice(LAST)}"]
    )
    album = _title(rng)
    tracks = list(dict.fromkeys(_title(rng) for _ in range(rng.randint(8, 14))))
    body = review_body(rng, words, album, artist, tracks)
    reviewer = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    date = dt.date(2020, 1, 1) + dt.timedelta(days=index % 2000)
    stem = f"review-{index:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    beside = None
    if index % 2 == 0:  # Markdown with front matter
        lines = [
            "---",
            f'title: "{artist}: {album}"',
            f'artist: "{artist}"',
            f'album: "{album}"',
            f'author: "{reviewer}"',
            f"date: {date.isoformat()}",
        ]
        if tracklist == "front matter":
            lines += ["tracklist:", *(f'  - "{t}"' for t in tracks)]
        lines += ["---", "", f"# {artist}: {album}", "", body, ""]
        path = folder / f"{stem}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
    else:  # plain text, pasted from a web page
        text = f'"{album}": {rng.choice(TAGLINES)}\n\n'
        text += f"{artist} - {album} - Reviews\n\nBy {reviewer}, {date:%B %d, %Y}\n\n{body}\n"
        path = folder / f"{stem}.txt"
        path.write_text(text, encoding="utf-8")
    if tracklist != "none" and (tracklist == "beside" or path.suffix == ".txt"):
        beside = folder / f"{stem}.tracks.txt"
        beside.write_text("".join(f"{n:02d}. {t}\n" for n, t in enumerate(tracks, 1)), "utf-8")
    return GeneratedReview(path, len(body.split()), beside)


def write_reviews(
    folder: Path,
    count: int,
    *,
    min_words: int = 300,
    max_words: int = 900,
    seed: int = 1,
    start: int = 0,
) -> list[GeneratedReview]:
    """``count`` reviews of ``min_words``–``max_words`` words, two in three with a tracklist."""
    rng = random.Random(seed)
    out = []
    for index in range(start, start + count):
        kind = rng.choice(["front matter", "beside", "none"])
        out.append(
            write_review(folder, index, rng.randint(min_words, max_words), rng, tracklist=kind)
        )
    return out


# -- published episodes without rendering -----------------------------------------------------


def _tiny_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (40, 60, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


def fabricate_records(show: Path, reviews: Sequence[Path]) -> int:
    """Publish ``reviews`` as if rendered: records with the fingerprints a render stores.

    Each episode gets an episode.json (through reviewcast's own ``save_record``), a transcript
    (WebVTT and SRT), JSON chapters and tiny placeholder MP3 and cover files, so a later render
    sees them as unchanged and the feed and web page have what they read. Returns the count.
    """
    from reviewcast.config import load_config
    from reviewcast.models import Chapter, Cue, EpisodeRecord
    from reviewcast.pipeline import plan
    from reviewcast.publish import slugify
    from reviewcast.records import save_record
    from reviewcast.transcript import chapters_json, srt, webvtt

    config = load_config(show)
    cover = _tiny_jpeg()
    mp3 = b"\xff\xfb\x90\x64" + bytes(4096)  # one MP3 frame header and padding: a placeholder
    rng = random.Random(7)
    start = dt.datetime(2020, 1, 1, 12, tzinfo=dt.UTC)
    for number, item in enumerate(plan(config, reviews, []), 1):
        slug = f"{slugify(item.path.stem)}"
        rel = f"episodes/{slug}"
        folder = show / rel
        folder.mkdir(parents=True, exist_ok=True)
        duration = round(rng.uniform(120, 360), 3)
        marks = sorted(rng.uniform(20, duration - 20) for _ in range(rng.randint(2, 7)))
        chapters = [Chapter("Intro", 0.0, round(marks[0], 3), None, "intro")]
        for i, mark in enumerate(marks):
            end = marks[i + 1] if i + 1 < len(marks) else duration
            chapters.append(Chapter(_title(rng), round(mark, 3), round(end, 3), i + 1, "track"))
        cues = [
            Cue(t, t + 4.0, f"A sentence of the review spoken at {t:.0f} seconds.", "review")
            for t in range(0, int(duration) - 5, 5)
        ]
        title = f"{_title(rng)}: {_title(rng)}"
        files = {
            "mp3": (f"{slug}-{number:010x}.mp3", mp3),
            "cover": (f"cover-{number:010x}.jpg", cover),
            "chapters": (
                f"chapters-{number:010x}.json",
                chapters_json(chapters, title=title, image_url="").encode(),
            ),
            "vtt": (f"transcript-{number:010x}.vtt", webvtt(cues).encode()),
            "srt": (f"transcript-{number:010x}.srt", srt(cues).encode()),
        }
        for name, data in files.values():
            (folder / name).write_bytes(data)
        summary = "There is a moment on this record where everything goes quiet. " * 4
        record = EpisodeRecord(
            slug=slug,
            guid=str(uuid.uuid5(uuid.UUID(config.podcast_guid), item.source)),
            source=item.source,
            title=title,
            summary=summary.strip(),
            notes_html=f"<p>{summary.strip()}</p>\n<p>Review of <em>{title}</em>.</p>",
            pub_date=start + dt.timedelta(hours=6 * number),
            number=number,
            duration=duration,
            audio=f"{rel}/{files['mp3'][0]}",
            length=len(mp3),
            cover=f"{rel}/{files['cover'][0]}",
            chapters_json=f"{rel}/{files['chapters'][0]}",
            transcript_vtt=f"{rel}/{files['vtt'][0]}",
            transcript_srt=f"{rel}/{files['srt'][0]}",
            chapters=tuple(chapters),
            artist=title.split(":")[0],
            album=title.split(": ")[1],
            reviewer=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            language=config.language,
            fingerprint=item.fingerprint,
        )
        save_record(show, record)
    return len(reviews)
