"""The speech engines: the tone engine in-process, pyttsx3 and direct eSpeak in probe processes.

pyttsx3 and eSpeak really synthesise here. Each real-engine scenario runs in its own process
(tests/speech_probe.py), so a crash fails one test rather than pytest, and so pyttsx3 and the
direct eSpeak engine never share a process (eSpeak can be started once per process).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reviewcast.errors import EngineError
from reviewcast.speech import Engine, VoicePreset
from reviewcast.speech.espeak_lib import (
    MAX_PIECE_CHARS,
    EspeakVoice,
    resolve_voice,
    split_text,
)
from reviewcast.speech.tone_engine import GAP_S, SAMPLE_RATE, ToneEngine, word_samples

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "speech_probe.py"
RATE = 22050

SENTENCES = [
    "The record opens with a slow burn, and the drums arrive late.",
    "Nothing prepares you for the way the second side turns inward.",
    "Its guitars are tuned low; the vocals sit just above a whisper.",
    "By the time the strings come in, the song has already changed its mind twice.",
    "It is the band's bravest album, and its quietest.",
    "Some listeners will call it slight — they will be wrong.",
]


def prose(chars: int) -> str:
    """Review-like text of about ``chars`` characters, the same mix of sentences throughout."""
    out: list[str] = []
    count = 0
    while sum(len(s) + 1 for s in out) < chars:
        # part numbers cycle, so long and short texts take as long to say per character
        out.append(f"In part {count % 7 + 1}, {SENTENCES[count % len(SENTENCES)].lower()}")
        count += 1
    return " ".join(out)


def preset(engine: str = "tone", voice: str = "tone", **changes: Any) -> VoicePreset:
    return VoicePreset(name="test", engine=engine, voice=voice, **changes)


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def rms_dbfs(pcm: bytes) -> float:
    values = samples(pcm)
    values = values[values != 0] / 32768
    return float(20 * np.log10(np.sqrt(np.mean(values**2))))


# --- splitting long text -----------------------------------------------------------------


def test_split_keeps_sentences_whole_and_pieces_short() -> None:
    text = prose(3000)
    pieces = split_text(text)
    assert len(pieces) == 4  # ~3,000 characters in pieces of at most 1,000
    assert all(len(piece) <= MAX_PIECE_CHARS for piece in pieces)
    assert all(piece.endswith(".") for piece in pieces)  # cut only between sentences
    assert " ".join(pieces) == text


def test_split_cuts_a_long_sentence_at_clauses_then_words() -> None:
    clauses = ", ".join(f"clause number {n} of a sentence that never ends" for n in range(60))
    pieces = split_text(clauses + ".", limit=200)
    assert all(len(piece) <= 200 for piece in pieces)
    assert all(piece.endswith((",", ".")) for piece in pieces)
    words = split_text("word " * 100, limit=42)
    assert all(len(piece) <= 42 for piece in words)
    assert " ".join(words) == ("word " * 100).strip()
    assert split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_of_blank_text_is_empty() -> None:
    assert split_text(" \n\t ") == []


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab .,;!?—\n"), max_size=400), st.integers(5, 80))
def test_split_never_exceeds_the_limit_or_loses_text(text: str, limit: int) -> None:
    pieces = split_text(text, limit=limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert "".join(pieces).replace(" ", "") == re.sub(r"\s", "", text)


# --- voice ids ---------------------------------------------------------------------------

VOICES = [
    EspeakVoice("gmw/en", "English (Great Britain)", "en-gb"),
    EspeakVoice("gmw/en-us", "English (America)", "en-us"),
    EspeakVoice("roa/fr", "French (France)", "fr-fr"),
    EspeakVoice("sit/yue", "Chinese (Cantonese)", "yue"),
    EspeakVoice("sit/yue-latn-jyutping", "Chinese (Cantonese, latin as Jyutping)", "yue"),
]
VARIANTS = ["f3", "Alex", "m1"]


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("gmw/en-us", "gmw/en-us"),
        ("GMW/EN-US", "gmw/en-us"),
        ("en-us", "gmw/en-us"),
        ("en-gb", "gmw/en"),
        ("fr-fr", "roa/fr"),
        ("en-us+f3", "gmw/en-us+f3"),
        ("gmw/en+Alex", "gmw/en+Alex"),
    ],
)
def test_voice_ids_resolve(requested: str, expected: str) -> None:
    assert resolve_voice(requested, VOICES, VARIANTS) == expected


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("en-usa", "unknown voice 'en-usa' (did you mean 'gmw/en-us'?)"),
        ("gmw", "unknown voice 'gmw'"),  # eSpeak would accept the folder and say nothing
        ("klingon", "unknown voice 'klingon'; run `reviewcast voices`"),
        ("en-us+F3", "unknown voice variant '+F3' in 'en-us+F3' (did you mean '+f3'?)"),
        ("en-us+zz", "variants: Alex, f3, m1"),
    ],
)
def test_unknown_voice_ids_are_refused_with_help(requested: str, message: str) -> None:
    with pytest.raises(EngineError) as caught:
        resolve_voice(requested, VOICES, VARIANTS)
    assert message in str(caught.value)


def test_a_language_of_two_voices_is_ambiguous() -> None:
    # "yue" is also the file name of sit/yue; a bare language shared by two voices is not.
    shared = [*VOICES[:3], EspeakVoice("a/x", "X", "zz"), EspeakVoice("b/y", "Y", "zz")]
    with pytest.raises(EngineError, match=r"ambiguous.*a/x, b/y"):
        resolve_voice("zz", shared, VARIANTS)


# --- the tone engine ---------------------------------------------------------------------


def test_tone_engine_is_an_engine_and_deterministic() -> None:
    engine = ToneEngine()
    assert isinstance(engine, Engine)
    assert ToneEngine.availability() is None
    text = "The drums arrive late; nothing prepares you."
    first = engine.synthesize(text, preset())
    assert first == ToneEngine().synthesize(text, preset())
    assert first != engine.synthesize("The drums arrive early.", preset())


def test_tone_engine_timing_follows_words_and_rate() -> None:
    engine = ToneEngine()
    words = ["Side", "two", "burns"]
    pcm = engine.synthesize(" ".join(words) + ".", preset())
    gap = round(GAP_S * SAMPLE_RATE)
    expected = sum(word_samples(word) for word in words) + gap * (len(words) - 1)
    assert len(pcm) // 2 == expected
    assert word_samples("burns") == round(5 * 0.060 * SAMPLE_RATE)
    values = samples(pcm)
    first_end = word_samples("Side")
    assert not values[first_end : first_end + gap].any()  # silence between words
    assert values[first_end - 400 : first_end].any()
    fast = engine.synthesize("Side two burns.", preset(rate=320))
    assert len(fast) // 2 == sum(word_samples(word, 320) for word in words) + gap * 2


def test_tone_engine_level_pitch_and_volume() -> None:
    engine = ToneEngine()
    pcm = engine.synthesize("Hello wonderful world", preset())
    assert -21.5 < rms_dbfs(pcm) < -19.0
    quiet = engine.synthesize("Hello wonderful world", preset(volume=0.5))
    assert rms_dbfs(quiet) == pytest.approx(rms_dbfs(pcm) - 6.02, abs=0.1)
    higher = engine.synthesize("Hello wonderful world", preset(pitch=90))
    assert len(higher) == len(pcm) and higher != pcm
    # words get different pitches: count zero crossings of two same-length words
    a, b = (samples(engine.synthesize(word, preset())) for word in ("amber", "lilac"))
    assert np.count_nonzero(np.diff(np.sign(a))) != np.count_nonzero(np.diff(np.sign(b)))


def test_tone_engine_refuses_unknown_voices_and_wordless_text() -> None:
    engine = ToneEngine()
    with pytest.raises(EngineError, match="unknown voice 'unknown-robot'"):
        engine.synthesize("Hello.", preset(voice="unknown-robot"))
    with pytest.raises(EngineError, match="no words"):
        engine.synthesize("— … —", preset())
    assert engine.synthesize("   ", preset()) == b""
    assert engine.synthesize("Hi", preset(voice="anything")) != b""


# --- real engines, each in a probe process ------------------------------------------------


def probe(
    tmp_path: Path,
    engine: str,
    texts: Sequence[str] = (),
    *options: str,
    env: dict[str, str] | None = None,
    name: str | None = None,
) -> tuple[dict[str, Any], list[bytes], subprocess.CompletedProcess[str]]:
    """Run speech_probe.py; its result.json, the PCM of each text, and the process."""
    outdir = tmp_path / (name or engine)
    outdir.mkdir()
    args = [sys.executable, str(PROBE), engine, str(outdir), *options]
    for index, text in enumerate(texts):
        path = outdir / f"{index}.txt"
        path.write_text(text, encoding="utf-8")
        args += ["--text", str(path)]
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "ESPEAK_DATA_PATH"}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3), f"probe crashed ({done.returncode}):\n{done.stderr}"
    result = json.loads((outdir / "result.json").read_text(encoding="utf-8"))
    pcms = [(outdir / f"{i}.pcm").read_bytes() for i in range(len(result["outputs"]))]
    return result, pcms, done


SENTENCE = "The record opens with a slow burn, and the drums arrive late."
OTHER_SENTENCE = "Nothing prepares you for the last track."
PRESET_OPTIONS = ("--voice", "en-us", "--rate", "190", "--pitch", "40", "--volume", "0.8")


@pytest.mark.slow
def test_pyttsx3_is_deterministic_quiet_and_identical_to_direct_espeak(tmp_path: Path) -> None:
    texts = [SENTENCE, SENTENCE, OTHER_SENTENCE, SENTENCE]
    spoken, pcms, done = probe(tmp_path, "pyttsx3", texts, *PRESET_OPTIONS)
    direct, direct_pcms, _ = probe(tmp_path, "espeak", texts, *PRESET_OPTIONS)
    assert "error" not in spoken and "error" not in direct
    assert spoken["is_engine"] and direct["is_engine"]
    assert spoken["sample_rate"] == direct["sample_rate"] == RATE
    assert spoken["voices"] == direct["voices"] > 100
    # the same sentence gives the same samples, whatever was spoken before it
    assert pcms[0] == pcms[1] == pcms[3]
    assert pcms[2] != pcms[0]
    # the adapter's pieces, voice, rate, pitch and volume match the direct engine's exactly
    assert pcms == direct_pcms
    assert "Audio saved" not in done.stdout
    assert done.stdout == ""
    # the sentence is not cut: it is ~4 s long and ends in eSpeak's sentence pause
    values = np.abs(samples(pcms[0]))
    assert 3.0 < len(values) / RATE < 6.0
    loud = np.flatnonzero(values > 300)
    assert 0.1 < (len(values) - loud[-1]) / RATE < 0.6


@pytest.mark.slow
def test_long_text_comes_back_complete(tmp_path: Path) -> None:
    short, long = prose(3_000), prose(30_000)
    last_piece = split_text(long)[-1]
    texts = [short, long, last_piece]
    spoken, pcms, done = probe(tmp_path, "pyttsx3", texts)
    assert "error" not in spoken, spoken.get("error")
    direct, direct_pcms, _ = probe(tmp_path, "espeak", [short, long])
    assert "error" not in direct
    seconds = [len(pcm) / 2 / RATE for pcm in pcms]
    assert 150 < seconds[0] < 300  # ~3,000 characters: a few minutes
    ratio = (seconds[1] / len(long)) / (seconds[0] / len(short))
    assert 0.95 < ratio < 1.05  # 30 KB: ten times as long, not truncated
    # the last words are there: the long text ends with its last piece spoken on its own
    assert pcms[1].endswith(pcms[2])
    # and nothing is lost anywhere: the direct engine, without pyttsx3, says the same
    assert pcms[:2] == direct_pcms
    assert "Audio saved" not in done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pyttsx3", "espeak"])
def test_unknown_voice_is_an_engine_error(tmp_path: Path, engine: str) -> None:
    result, _, done = probe(tmp_path, engine, ["Hello."], "--voice", "gmw/en-uss")
    assert done.returncode == 3
    assert result["error"].startswith("unknown voice 'gmw/en-uss' (did you mean 'gmw/en-us'")
    assert "reviewcast voices" in result["error"]


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pyttsx3", "espeak"])
def test_engine_refuses_other_threads_and_forked_children(tmp_path: Path, engine: str) -> None:
    result, pcms, _ = probe(tmp_path, engine, ["Still works here."], "--scenario", "thread")
    assert "created in another thread" in result["thread_error"]
    assert "created before this process was forked" in result["fork_error"]
    assert "'spawn'" in result["fork_error"]
    assert len(pcms[0]) > RATE  # the creating thread can still use it afterwards


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pyttsx3", "espeak"])
def test_one_espeak_mode_per_process(tmp_path: Path, engine: str) -> None:
    result, pcms, _ = probe(tmp_path, engine, ["Still works here."], "--scenario", "other")
    assert f"already running in this process for the '{engine}' engine" in result["other_error"]
    assert result["other_availability"] == result["other_error"]
    assert len(pcms[0]) > RATE


@pytest.mark.slow
@pytest.mark.parametrize("value", [None, "/nonexistent/espeak-ng-data"])
def test_espeak_data_path_is_set_from_the_wheel(tmp_path: Path, value: str | None) -> None:
    import espeakng_loader

    env = {k: v for k, v in os.environ.items() if k != "ESPEAK_DATA_PATH"}
    if value is not None:
        env["ESPEAK_DATA_PATH"] = value
    result, pcms, _ = probe(tmp_path, "pyttsx3", ["Hello there."], env=env)
    assert "error" not in result
    assert result["env_data_path"] == espeakng_loader.get_data_path()
    assert len(pcms[0]) > RATE // 2


@pytest.mark.slow
def test_rate_pitch_and_volume_change_the_sound(tmp_path: Path) -> None:
    def speak(name: str, *options: str) -> bytes:
        return probe(tmp_path, "espeak", [SENTENCE], *options, name=name)[1][0]

    normal = speak("normal", "--rate", "160")
    fast = speak("fast", "--rate", "320")
    assert 0.4 < len(fast) / len(normal) < 0.65
    quiet = speak("quiet", "--rate", "160", "--volume", "0.5")
    assert rms_dbfs(quiet) == pytest.approx(rms_dbfs(normal) - 6, abs=1.5)
    high = speak("high", "--rate", "160", "--pitch", "90")
    assert high != normal
