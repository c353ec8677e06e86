"""Track detection: tracklist parsing and sources, mentions with and without a tracklist.

The labelled set in tests/data/tracks/ is the main measure: reviews written as a reviewer
would, each with its tracklist and the tracks it truly discusses (``<stem>.labels.toml``).
"""

from __future__ import annotations

import dataclasses
import random
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewcast.errors import ReviewError
from reviewcast.models import Block, Review, Track, Tracklist
from reviewcast.musicbrainz import MusicBrainzClient
from reviewcast.reviews import read_review
from reviewcast.tracks import _fold, detect_tracks, parse_tracklist, resolve_tracklist

DATA = Path(__file__).parent / "data" / "tracks"


def review(*paragraphs: str | Block, **meta: object) -> Review:
    blocks = tuple(p if isinstance(p, Block) else Block(p) for p in paragraphs)
    fields: dict[str, object] = {"source": Path("review.txt"), "format": "text", "blocks": blocks}
    fields.update(meta)
    return Review(**fields)  # type: ignore[arg-type]


def found(rv: Review, titles: list[str] | None) -> list[str]:
    tracklist = Tracklist(tuple(titles), "test") if titles is not None else None
    return [track.title for track in detect_tracks(rv, tracklist)]


# -- parse_tracklist ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "title"),
    [
        ("1. Init", "Init"),
        ("01 - Forked Reality", "Forked Reality"),
        ("3) Echoes", "Echoes"),
        ("A1 Signal Fire", "Signal Fire"),
        ("B2. Overgrown", "Overgrown"),
        ("4/ Quiet Engine", "Quiet Engine"),
        ("10. 100% Expendable (4:32)", "100% Expendable"),
        ("Who Wants to Live Forever? 4:32", "Who Wants to Live Forever?"),
        ("7. Still Remains [4:32]", "Still Remains"),
        ("8. Nemesis – 3:05", "Nemesis"),
        ('2. "Halo"', "Halo"),
        ("- Heron", "Heron"),
    ],
)
def test_parse_tracklist_strips_numbering_and_durations(line: str, title: str) -> None:
    assert parse_tracklist(line) == (title,)


def test_parse_tracklist_skips_headings_blanks_and_vinyl_sides() -> None:
    text = "Tracklist:\n\nSide A\n01 Init\n02 Forked Reality\n\nSide B:\n03 Echoes\n"
    assert parse_tracklist(text) == ("Init", "Forked Reality", "Echoes")


def test_parse_tracklist_keeps_numbers_that_belong_to_titles() -> None:
    # Unnumbered lines: "99 Luftballons" and "1979" are titles, not numbering.
    assert parse_tracklist("99 Luftballons\n1979\nA Question of Trust") == (
        "99 Luftballons",
        "1979",
        "A Question of Trust",
    )


def test_parse_tracklist_of_the_sample() -> None:
    labels = tomllib.loads((DATA / "tron-ares-ost.labels.toml").read_text())
    numbered = "\n".join(f"{n:02}. {t}" for n, t in enumerate(labels["tracklist"], start=1))
    assert parse_tracklist(numbered) == tuple(labels["tracklist"])


# -- resolve_tracklist -------------------------------------------------------------------------

BODY = "A review that talks about the record at some length."


def test_metadata_tracklist_wins() -> None:
    rv = review(BODY, tracklist=("One", "Two"))
    trimmed, tracklist = resolve_tracklist(rv, Path("/nonexistent"))
    assert tracklist == Tracklist(("One", "Two"), "review metadata")
    assert trimmed == rv


def test_tracklist_file(tmp_path: Path) -> None:
    path = tmp_path / "album.txt"
    path.write_text("Tracklist:\n1. Init (2:01)\n2. Forked Reality\n", encoding="utf-8")
    _, tracklist = resolve_tracklist(review(BODY), path)
    assert tracklist == Tracklist(("Init", "Forked Reality"), "--tracklist album.txt")


def test_unreadable_tracklist_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ReviewError, match=r"nope\.txt"):
        resolve_tracklist(review(BODY), missing)
    empty = tmp_path / "empty.txt"
    empty.write_text("Tracklist:\n\n", encoding="utf-8")
    with pytest.raises(ReviewError, match=r"empty\.txt.*no track titles"):
        resolve_tracklist(review(BODY), empty)


@pytest.mark.parametrize(
    "tail",
    [
        ["Tracklist:\n1. Init\n2. Forked Reality (3:10)\n3. Echoes"],
        ["Tracklist:", "1. Init", "2. Forked Reality (3:10)", "3. Echoes"],
        ["1. Init", "2. Forked Reality (3:10)", "3. Echoes"],
        ["Tracklist: 1. Init 2. Forked Reality (3:10) 3. Echoes"],
        [Block("Tracklist", "heading"), Block("Init\nForked Reality\nEchoes", "list")],
    ],
)
def test_tracklist_at_the_end_of_the_review_is_used_and_removed(tail: list[str | Block]) -> None:
    rv = review(BODY, "Init is great.", *tail)
    trimmed, tracklist = resolve_tracklist(rv)
    assert tracklist == Tracklist(("Init", "Forked Reality", "Echoes"), "review")
    assert [b.text for b in trimmed.blocks] == [BODY, "Init is great."]


def test_embedded_list_removed_even_when_metadata_gives_the_tracklist() -> None:
    rv = review(BODY, "1. Init\n2. Two\n3. Three", tracklist=("Init", "Two", "Three"))
    trimmed, tracklist = resolve_tracklist(rv)
    assert tracklist is not None and tracklist.origin == "review metadata"
    assert [b.text for b in trimmed.blocks] == [BODY]


def test_numbered_lists_that_are_not_a_final_tracklist_stay() -> None:
    middle = review(BODY, "1. One\n2. Two\n3. Three", "And a closing paragraph of prose.")
    assert resolve_tracklist(middle) == (middle, None)
    short = review(BODY, "1. Only\n2. Two")
    assert resolve_tracklist(short) == (short, None)
    prose = review(BODY, "My reasons: 1. it is long, and it goes on and on 2. it is loud 3. meh.")
    assert resolve_tracklist(prose) == (prose, None)


class _StubMusicBrainz(MusicBrainzClient):
    def __init__(self, answer: tuple[str, ...] | None) -> None:
        super().__init__(base_url="http://127.0.0.1:9/")
        self.answer = answer
        self.calls: list[tuple[str, str, Path | None]] = []

    def tracklist(
        self, artist: str, album: str, cache: Path | None = None
    ) -> tuple[str, ...] | None:
        self.calls.append((artist, album, cache))
        return self.answer


def test_musicbrainz_is_last_and_caches_beside_the_review() -> None:
    client = _StubMusicBrainz(("Init", "Echoes"))
    rv = review(BODY, source=Path("show/reviews/tron.md"), artist="NIN", album="TRON: Ares")
    _, tracklist = resolve_tracklist(rv, musicbrainz=client)
    assert tracklist == Tracklist(("Init", "Echoes"), "musicbrainz")
    assert client.calls == [("NIN", "TRON: Ares", Path("show/reviews/tron.musicbrainz.json"))]
    # Not asked without artist and album, nor when another source has the list.
    resolve_tracklist(review(BODY, album="X"), musicbrainz=client)
    resolve_tracklist(dataclasses.replace(rv, tracklist=("A",)), musicbrainz=client)
    assert len(client.calls) == 1
    assert resolve_tracklist(rv, musicbrainz=_StubMusicBrainz(None))[1] is None


# -- detect_tracks with a tracklist ------------------------------------------------------------


def test_common_word_titles_only_where_used_as_titles() -> None:
    titles = ["Home", "Intro", "Angel", "Stars", "Echoes", "Permanence", "Nemesis"]
    prose = review(
        "It feels like home. The intro drags. Echoes of Low are everywhere.",
        "There is a sense of permanence, and an old nemesis: the stars of the show are the "
        "backing singers, who sing like angels.",
    )
    assert found(prose, titles) == []
    used = review(
        'The song Home is weak, but "Intro" is fine and *Angel* soars.',
        "Then comes the closer, and before it Stars, the single, and the cut Nemesis.",
    )
    assert found(used, titles) == ["Home", "Intro", "Angel", "Nemesis", "Stars"]


def test_numbers_as_titles_need_quotes_or_a_song_word() -> None:
    assert found(review("They formed in 1979, in Leeds."), ["1979"]) == []
    assert found(review('Then "1979" plays, and the song 22 too.'), ["1979", "22"]) == [
        "1979",
        "22",
    ]


def test_capitalised_mid_sentence_counts_in_english_but_not_in_german() -> None:
    titles = ["Kingfisher", "Nebel"]
    assert found(review("After that, Kingfisher keeps things small."), titles) == ["Kingfisher"]
    german = review("Dann verschwindet die Stimme im Nebel der Gitarren.", language="de")
    assert found(german, titles) == []
    assert found(review("Dann folgt „Nebel“.", language="de"), titles) == ["Nebel"]


def test_spans_caps_diacritics_and_misspellings() -> None:
    titles = ["Jóga", "Shadow Over Me", "Forked Reality", "The Cartographer's Daughter"]
    rv = review(
        'Take Joga, then FORKED REALITY and "Shadows Over Me".',
        "The Cartographers Daughter is odd.",
    )
    tracks = detect_tracks(rv, Tracklist(tuple(titles), "test"))
    assert [(t.title, t.number, t.block, t.matched, t.how) for t in tracks] == [
        ("Jóga", 1, 0, "Joga", "folded"),
        ("Forked Reality", 3, 0, "FORKED REALITY", "folded"),
        ("Shadow Over Me", 2, 0, "Shadows Over Me", "fuzzy"),
        ("The Cartographer's Daughter", 4, 1, "The Cartographers Daughter", "folded"),
    ]
    for track in tracks:
        assert rv.blocks[track.block].text[track.start : track.end] == track.matched


def test_fuzzy_is_strict() -> None:
    titles = ["Kein Zurück", "Permanence", "Paper Boats"]
    rv = review(
        "Ein Zurück gibt es nicht. A permanent fixture.",
        'He sings "I kept your letters in a paper boat" and it works.',
    )
    assert found(rv, titles) == []


def test_someone_elses_song_is_not_this_albums_track() -> None:
    titles = ["Wildfire", "Angel", "Halo"]
    rv = review(
        "We have 'Angel' by Massive Attack at home.",
        "She covered “Halo” on tour. “Wildfire” by Michael Martin Murphey is a classic, so "
        "naming your opener “Wildfire” is bold.",
        artist="Juniper Vale",
    )
    tracks = detect_tracks(rv, Tracklist(tuple(titles), "test"))
    assert [(t.title, t.block, t.how) for t in tracks] == [("Wildfire", 1, "position")]
    assert found(review('"Halo" by Juniper Vale is lovely.', artist="Juniper Vale"), titles) == [
        "Halo"
    ]


def test_album_title_shared_by_a_track() -> None:
    titles = ["Intro", "Lowlight", "Low Light Reprise"]
    album = {"album": "Lowlight", "artist": "Halden"}
    assert found(review("Lowlight is their best record. I love *Lowlight*.", **album), titles) == []
    assert found(review('The song "Lowlight" is long.', **album), titles) == ["Lowlight"]
    tracks = detect_tracks(
        review("The title track is long.", **album), Tracklist(("Intro", "Lowlight"), "t")
    )
    assert [(t.title, t.number, t.how, t.matched) for t in tracks] == [
        ("Lowlight", 2, "title track", "title track")
    ]


def test_track_inside_the_album_title_is_the_album() -> None:
    rv = review(
        '*Small Hours Machine* is great, but "Small Hours" drags.', album="Small Hours Machine"
    )
    tracks = detect_tracks(rv, Tracklist(("Small Hours", "Mariana"), "t"))
    assert [(t.title, t.matched, t.start) for t in tracks] == [("Small Hours", "Small Hours", 37)]


@pytest.mark.parametrize(
    ("sentence", "number"),
    [
        ("The opener is slow.", 1),
        ("The opening track is slow.", 1),
        ("Track three is slow.", 3),
        ("Track 3 is slow.", 3),
        ("The third track is slow.", 3),
        ("The closer is slow.", 5),
        ("The closing track is slow.", 5),
        ("The final track is slow.", 5),
        ("The penultimate song is slow.", 4),
        ("The title track is slow.", 2),
        ("Der Opener ist langsam.", 1),
        ("Track drei ist langsam.", 3),
        ("Der dritte Song ist langsam.", 3),
        ("Der Titeltrack ist langsam.", 2),
        ("Der letzte Song ist langsam.", 5),
        ("Der Rausschmeißer ist langsam.", 5),
    ],
)
def test_positional_references(sentence: str, number: int) -> None:
    titles = ("Cold Front", "Pressure Systems", "Squall Line", "Trade Winds", "Clearing")
    tracks = detect_tracks(review(sentence, album="Pressure Systems"), Tracklist(titles, "t"))
    assert [t.number for t in tracks] == [number]
    assert tracks[0].title == titles[number - 1]


@pytest.mark.parametrize(
    "sentence",
    [
        "The first three songs form a suite.",
        "The first track to feature vocals is late.",
        "It is not the title track.",
        "Track 9 does not exist.",
        "An eye-opener of a record.",
        "Three minutes in, track 2 minutes… no.",
        "I'd have cut two songs.",
    ],
)
def test_positional_lookalikes(sentence: str) -> None:
    titles = ("Cold Front", "Pressure Systems", "Squall Line")
    assert found(review(sentence, album="Pressure Systems"), list(titles)) == []


def test_order_of_first_mention_and_each_track_once() -> None:
    rv = review('"Two" first, then "One".', 'Then "Two" again and the opener.')
    tracks = detect_tracks(rv, Tracklist(("One", "Two"), "t"))
    assert [(t.title, t.block) for t in tracks] == [("Two", 0), ("One", 0)]


def test_emphasis_spans_count_as_formatting() -> None:
    text = "Then Stars arrives, loud."
    emphasised = Block(text, emphasis=((5, 10),))
    assert found(review(emphasised, language="de"), ["Stars"]) == ["Stars"]
    assert found(review(Block(text), language="de"), ["Stars"]) == []


# -- detect_tracks without a tracklist ---------------------------------------------------------


def test_candidates_from_formatting_only() -> None:
    rv = review(
        "“Init” and 'Forked Reality' open, «Le Phare» follows, „Nebel“ and »Vorort« too.",
        Block("Then Boot Sequence plays.", emphasis=((5, 18),)),
        "Kingfisher and Glass Harbour are bare names.",
    )
    assert found(rv, None) == [
        "Init",
        "Forked Reality",
        "Le Phare",
        "Nebel",
        "Vorort",
        "Boot Sequence",
    ]


def test_no_tracklist_leaves_out_lyrics_scare_quotes_albums_and_other_artists() -> None:
    rv = review(
        'Critics call it "honest". "I kept your letters in a paper boat" is typical.',
        "\"We have 'Angel' by Massive Attack at home.\" So says everyone.",
        "“I wanted it to feel like a Sunday afternoon,” she said. *Lowlight* is the album.",
        "It sounds like the album *Disintegration*, and Björk's *Vespertine*.",
        '"TRON: ARES OST" is the headline. "Dance all night, sleep all day!" is a lyric.',
        "She covered “Jolene” once. “I’m so tired” is the hook.",
        album="TRON: Ares (Original Motion Picture Soundtrack)",
        artist="Nine Inch Nails",
    )
    assert found(rv, None) == []


def test_no_tracklist_title_track_and_review_title() -> None:
    rv = review(
        '"Lowlight" is the headline. The title track is long.', album="Lowlight", title="Lowlight"
    )
    tracks = detect_tracks(rv, None)
    assert [(t.title, t.number, t.how) for t in tracks] == [("Lowlight", None, "title track")]


# -- the labelled set --------------------------------------------------------------------------


def _labelled() -> list[tuple[Path, dict[str, Any]]]:
    cases = []
    for labels in sorted(DATA.glob("*.labels.toml")):
        stem = labels.name.removesuffix(".labels.toml")
        (source,) = [p for p in DATA.glob(stem + ".*") if not p.name.endswith(".toml")]
        cases.append((source, tomllib.loads(labels.read_text(encoding="utf-8"))))
    return cases


def _prepared(source: Path, labels: dict[str, Any]) -> tuple[Review, Tracklist]:
    rv = read_review(source)
    # The labels stand in for a sidecar where the file itself does not say.
    rv = dataclasses.replace(
        rv,
        artist=rv.artist or str(labels["artist"]),
        album=rv.album or str(labels["album"]),
        language=rv.language or str(labels["language"]),
    )
    trimmed, tracklist = resolve_tracklist(rv)
    expected_list = tuple(str(title) for title in labels["tracklist"])
    if labels.get("tracklist_in_review"):
        assert tracklist == Tracklist(expected_list, "review"), source.name
    else:
        assert tracklist is None, source.name
        tracklist = Tracklist(expected_list, "labels")
    return trimmed, tracklist


def test_labelled_set_is_broad_enough() -> None:
    cases = _labelled()
    assert len(cases) >= 15
    assert {source.suffix for source, _ in cases} == {".txt", ".md", ".html"}
    assert {"en", "de"} <= {str(labels["language"]) for _, labels in cases}
    assert any(not labels["expected"] for _, labels in cases)


def _score(detected: list[str], expected: list[str]) -> tuple[int, int, int]:
    wanted = {_fold(title) for title in expected}
    hits = sum(1 for title in detected if _fold(title) in wanted)
    return hits, len(detected), len(expected)


def test_labelled_set_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    totals = {"with tracklist": [0, 0, 0], "without tracklist": [0, 0, 0]}
    misses: list[str] = []
    for source, labels in _labelled():
        rv, tracklist = _prepared(source, labels)
        expected = [str(title) for title in labels["expected"]]
        for mode, given_list in (("with tracklist", tracklist), ("without tracklist", None)):
            detected = [t.title for t in detect_tracks(rv, given_list)]
            hits, count, wanted = _score(detected, expected)
            for index, value in enumerate((hits, count, wanted)):
                totals[mode][index] += value
            if hits < max(count, wanted):
                misses.append(f"{source.name} {mode}: found {detected}, expected {expected}")
    figures = {}
    with capsys.disabled():
        print()
        for mode, (hits, count, wanted) in totals.items():
            precision = hits / count if count else 1.0
            recall = hits / wanted if wanted else 1.0
            figures[mode] = (precision, recall)
            print(
                f"labelled set, {mode}: precision {precision:.3f}, recall {recall:.3f} "
                f"({hits} right of {count} found, {wanted} expected)"
            )
    report = "\n".join(misses)
    assert figures["with tracklist"][0] >= 0.95, report
    assert figures["with tracklist"][1] >= 0.90, report
    assert figures["without tracklist"][0] >= 0.90, report


def test_the_real_sample_in_order() -> None:
    source = DATA / "tron-ares-ost.txt"
    labels = tomllib.loads(source.with_suffix(".labels.toml").read_text(encoding="utf-8"))
    rv, tracklist = _prepared(source, labels)
    tracks = detect_tracks(rv, tracklist)
    assert [t.title for t in tracks] == labels["expected"]
    assert [t.number for t in tracks] == [1, 2, 3, 7, 14, 22, 24]
    assert tracks[-1].how == "fuzzy" and tracks[-1].matched == "Shadows Over Me"


# -- properties --------------------------------------------------------------------------------

_words = st.text(alphabet=string.ascii_letters + "äöüßé'’-", min_size=1, max_size=10)
_titles = st.lists(
    st.lists(_words, min_size=1, max_size=4).map(" ".join) | st.text(max_size=20),
    min_size=0,
    max_size=30,
)
_text = st.text(
    alphabet=st.sampled_from(list(string.ascii_letters + " .,!?;:\n'\"“”„«»‘’*_()-0123456789ßé")),
    max_size=400,
) | st.text(max_size=200)


def _check(rv: Review, tracks: tuple[Track, ...], tracklist: Tracklist | None) -> None:
    keys = [_fold(t.title) for t in tracks]
    assert len(keys) == len(set(keys))
    assert [(t.block, t.start) for t in tracks] == sorted((t.block, t.start) for t in tracks)
    for track in tracks:
        text = rv.blocks[track.block].text
        assert 0 <= track.start < track.end <= len(text)
        assert text[track.start : track.end] == track.matched
        if tracklist is not None:
            assert track.number is not None
            assert tracklist.titles[track.number - 1] == track.title


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(paragraphs=st.lists(_text, min_size=1, max_size=4), titles=_titles, data=st.data())
def test_never_raises_and_spans_are_valid(
    paragraphs: list[str], titles: list[str], data: st.DataObject
) -> None:
    blocks = []
    for text in paragraphs:
        spans = data.draw(
            st.lists(st.tuples(st.integers(0, len(text)), st.integers(0, len(text))), max_size=3)
        )
        blocks.append(Block(text, emphasis=tuple((a, b) for a, b in spans if a < b)))
    album = data.draw(st.sampled_from([None, *titles[:2]]))
    rv = review(*blocks, album=album)
    trimmed, found_list = resolve_tracklist(rv)
    for tracklist in (Tracklist(tuple(titles), "t") if titles else None, found_list, None):
        _check(trimmed, detect_tracks(trimmed, tracklist), tracklist)


def test_a_long_review_and_a_500_track_list() -> None:
    # Not a timing assertion: with a scan over titles × positions this would take minutes.
    rng = random.Random(7)
    vocabulary = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))
        for _ in range(400)
    ]
    unique = {
        " ".join(rng.choice(vocabulary).title() for _ in range(rng.randint(2, 4))): None
        for _ in range(600)
    }
    titles = tuple(unique)[:500]
    sentences = [
        " ".join(rng.choice(vocabulary) for _ in range(rng.randint(6, 20))) + "."
        for _ in range(3000)
    ]
    paragraphs = [" ".join(sentences[i : i + 10]) for i in range(0, len(sentences), 10)]
    planted = [f'Then "{titles[n]}" plays.' for n in (499, 250, 0)]
    rv = review(*paragraphs[:150], *planted, *paragraphs[150:])
    tracklist = Tracklist(titles, "t")
    tracks = detect_tracks(rv, tracklist)
    _check(rv, tracks, tracklist)
    assert [(t.number, t.block) for t in tracks] == [(500, 150), (251, 151), (1, 152)]
