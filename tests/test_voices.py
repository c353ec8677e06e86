"""Who reads what (host, reviewer, quotes, other languages), template pacing, and cue sounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reviewcast.audio import WORK_RATE, decode_mono, run_ffmpeg
from reviewcast.cli import main
from reviewcast.config import config_from_mapping, load_config
from reviewcast.models import Block, Review
from reviewcast.records import load_records
from reviewcast.script import build_script
from reviewcast.voices import cast_for

from .audio_helpers import find_cue


def review(*blocks: Block, **meta: object) -> Review:
    return Review(source=Path("r.md"), format="markdown", blocks=blocks, **meta)  # type: ignore[arg-type]


def write_preset(root: Path, name: str, voice: str, pitch: int = 50) -> None:
    (root / "voices").mkdir(exist_ok=True)
    (root / "voices" / f"{name}.toml").write_text(
        f'engine = "pyttsx3"\nvoice = "{voice}"\npitch = {pitch}\n', encoding="utf-8"
    )


def test_host_reads_intro_and_outro_reviewer_reads_review_quotes_set_apart(
    tmp_path: Path,
) -> None:
    write_preset(tmp_path, "host", "gmw/en-us")
    write_preset(tmp_path, "ann", "gmw/en-gb-x-rp")
    config = config_from_mapping(
        tmp_path,
        {"voice": "host", "reviewer_voices": {"Ann Smith": "ann"}},
        tmp_path / "show.toml",
    )
    r = review(
        Block("An opening paragraph."),
        Block("A line of the lyric, set apart.", kind="quote"),
        reviewer="Ann Smith",
    )
    script = build_script(config, r, None, ())
    voices = {s.kind: s.voice for s in script.segments}
    assert voices["intro"] == voices["outro"] == "host"
    assert voices["review"] == "ann"
    assert voices["quote"] == "ann (quote)"
    quote = script.preset("ann (quote)")
    assert (quote.voice, quote.engine) == ("gmw/en-gb-x-rp", "pyttsx3")
    assert quote.pitch != script.preset("ann").pitch
    # a reviewer without a voice of their own gets the review voice (here: the host's)
    other = build_script(config, review(Block("Words."), reviewer="Bob"), None, ())
    assert {s.voice for s in other.segments if s.kind == "review"} == {"host"}


def test_a_german_review_is_read_by_a_german_voice_intro_in_the_shows(tmp_path: Path) -> None:
    config = config_from_mapping(tmp_path, {"language": "en"}, tmp_path / "show.toml")
    r = review(Block("Das Album beginnt leise und endet laut."), language="de")
    script = build_script(config, r, None, ())
    by_kind = {s.kind: script.preset(s.voice) for s in script.segments}
    assert by_kind["review"].voice == "de"
    assert by_kind["intro"].voice == by_kind["outro"].voice == "gmw/en-us"
    # an explicit [language_voices] entry wins
    write_preset(tmp_path, "german", "gmw/de", pitch=40)
    config = config_from_mapping(
        tmp_path, {"language_voices": {"de": "german"}}, tmp_path / "show.toml"
    )
    assert cast_for(config, r).reader == "german"


def test_voice_tables_are_validated_and_round_trip(tmp_path: Path) -> None:
    from reviewcast.config import render_show_toml
    from reviewcast.errors import ConfigError

    text = render_show_toml(reviewer_voices=(("Ann Smith", "ann"),))
    (tmp_path / "show.toml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path).voice_for_reviewer("Ann Smith") == "ann"
    with pytest.raises(ConfigError, match=r"\[reviewer_voices\] should be a table"):
        config_from_mapping(tmp_path, {"reviewer_voices": ["ann"]}, tmp_path / "show.toml")


def test_template_pause_and_emphasis_markup(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "intro.txt.j2").write_text(
        "Welcome to *{{ show.title }}*. [pause 2] Here we go.", encoding="utf-8"
    )
    config = config_from_mapping(tmp_path, {"title": "Spin Cycle"}, tmp_path / "show.toml")
    script = build_script(config, review(Block("Words.")), None, ())
    intro = [s for s in script.segments if s.kind == "intro"]
    assert [s.text for s in intro] == ["Welcome to Spin Cycle.", "Here we go."]
    assert intro[0].pause_after == 2.0


def test_list_items_each_get_a_beat(tmp_path: Path) -> None:
    config = config_from_mapping(tmp_path, {}, tmp_path / "show.toml")
    block = Block("Best tracks\nInit\nNew Directive", kind="list")
    script = build_script(config, review(Block("Intro words."), block), None, ())
    items = [s for s in script.segments if s.block == 1]
    assert [s.text for s in items] == ["Best tracks", "Init", "New Directive"]
    assert all(s.pause_after >= 0.5 for s in items)


# -- cue sounds: the show's own, and clips of the track ---------------------------------------


def tone_file(path: Path, freq: int, seconds: float) -> Path:
    run_ffmpeg(["-f", "lavfi", "-i", f"sine=frequency={freq}:duration={seconds}", str(path)])
    return path


def dominant_frequency(audio: np.ndarray, start: float, seconds: float) -> float:
    piece = audio[int(start * WORK_RATE) : int((start + seconds) * WORK_RATE)]
    spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece))))
    return float(np.fft.rfftfreq(len(piece), 1 / WORK_RATE)[int(np.argmax(spectrum))])


def test_show_cue_sound_and_track_clips_play_at_the_chapters(show: Path) -> None:
    (show / "reviews" / "r.md").write_text(
        "---\ntitle: Clips\ntracklist: [Alpha Song, Beta Song]\n---\n"
        'The record opens with "Alpha Song", a fine start.\n\n'
        'Then "Beta Song" closes it.\n',
        encoding="utf-8",
    )
    tone_file(show / "voices" / "cue.wav", 1200, 1.0)
    (show / "clips").mkdir()
    tone_file(show / "clips" / "Beta Song.mp3", 300, 10.0)
    text = (show / "show.toml").read_text(encoding="utf-8")
    text = text.replace('cue = ""', 'cue = "voices/cue.wav"').replace(
        "clip_seconds = 6.0", "clip_seconds = 3.0"
    )
    (show / "show.toml").write_text(text, encoding="utf-8")
    assert main(["render", "--show", str(show), "-q", "--jobs", "1"]) == 0
    (record,) = load_records(show)
    chapters = {c.title: c for c in record.chapters}
    alpha, beta = chapters["Alpha Song"], chapters["Beta Song"]
    audio = decode_mono(show / record.audio, WORK_RATE)
    assert dominant_frequency(audio, alpha.start + 0.1, 0.5) == pytest.approx(1200, abs=15)
    assert dominant_frequency(audio, beta.start + 0.6, 1.5) == pytest.approx(300, abs=15)
    # the show's cue is found where its chapter starts; the clip lasts clip_seconds
    cue = decode_mono(show / "voices" / "cue.wav", WORK_RATE)
    assert abs(find_cue(audio, cue, alpha.start, WORK_RATE, window=0.5) - alpha.start) <= 0.05
    clip_end = beta.start + 3.0
    assert np.sqrt(np.mean(audio[int((clip_end + 0.05) * WORK_RATE) :][:2000] ** 2)) < 0.05
    # faded in: the clip starts quietly
    start = int(beta.start * WORK_RATE)
    assert np.max(np.abs(audio[start : start + 200])) < 0.5 * np.max(
        np.abs(audio[start + WORK_RATE : start + 2 * WORK_RATE])
    )
