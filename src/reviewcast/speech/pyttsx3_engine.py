"""The default ``pyttsx3`` engine: the system's voices (eSpeak NG on Linux, NSSpeech on macOS,
SAPI 5 on Windows) through pyttsx3 2.99, with its defects worked around.

pyttsx3 2.99's espeak driver, as seen on Linux:

- ``runAndWait()`` returns before synthesis has even started (on another thread), and the WAV
  file appears only later; a second call cancels what is still running. We wait for the
  ``finished-utterance`` event with ``completed=True`` and, for eSpeak, for its callback to
  return.
- It gives eSpeak ten times the text's size as a buffer size: ~26 KB of text crashes the
  process. We speak paragraph-sized pieces (:func:`espeak_lib.split_text`) and join them.
- It prints "Audio saved to …" on stdout from eSpeak's thread: silenced while we wait.
- An unknown voice id raises nothing and keeps the previous voice: we check the id first and
  read the voice back after setting it.
- It is not thread-safe: an engine refuses use from a thread or process other than its own.
- The same sentence came out a few samples longer or shorter from call to call. Not pyttsx3's
  fault: eSpeak carries pitch-flutter state from one utterance to the next; we reset it before
  each piece (:func:`espeak_lib.reset_synthesis_state`), so the same text gives the same PCM,
  identical to the ``espeak`` engine's.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import platform
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from reviewcast.errors import EngineError
from reviewcast.speech import VoicePreset, espeak_lib

#: Bump when a change here makes the same text and preset sound different.
ADAPTER_REVISION = 1
#: How long one piece (at most ~1,000 characters) may take; eSpeak needs well under a second.
PIECE_TIMEOUT_S = 60.0


def _driver_name() -> str:
    """The pyttsx3 driver this platform uses (pyttsx3's own default)."""
    from pyttsx3.engine import default_engine_by_sys_platform

    return str(default_engine_by_sys_platform())


class Pyttsx3Engine:
    """Speech through pyttsx3; one per process, used from the thread that created it."""

    name: ClassVar[str] = "pyttsx3"

    @classmethod
    def availability(cls) -> str | None:
        """None when pyttsx3 and its platform driver can run here; otherwise why not."""
        try:
            driver = _driver_name()
        except ImportError:
            return "the Python package 'pyttsx3' is not installed (pip install pyttsx3==2.99)"
        if driver != "espeak":
            return None
        return espeak_lib.availability_for(cls.name)

    def __init__(self) -> None:
        self._session = _Session.get()

    def version(self) -> str:
        """pyttsx3's version and driver; for eSpeak its version, else the platform's."""
        session = self._session
        pyttsx3_version = importlib.metadata.version("pyttsx3")
        if session.driver == "espeak":
            reset = "+reset" if espeak_lib.can_reset() else ""
            voice_source = f"espeak-ng {espeak_lib.version()}{reset}"
        else:
            voice_source = platform.platform()
        return f"pyttsx3 {pyttsx3_version} {session.driver} r{ADAPTER_REVISION} {voice_source}"

    def sample_rate(self) -> int:
        """The rate of the driver's WAV files (22050 Hz for eSpeak)."""
        return self._session.sample_rate()

    def voices(self) -> list[str]:
        """The driver's voice ids, e.g. ``gmw/en-us`` (eSpeak also takes ``gmw/en-us+f3``)."""
        return [str(voice.id) for voice in self._session.voice_list()]

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        """Speak ``text`` with ``preset`` as s16le mono PCM; EngineError on failure."""
        return self._session.synthesize(text, preset)


class _Session:
    """The process's one pyttsx3 engine and what our adapter adds around it."""

    _current: ClassVar[_Session | None] = None
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def get(cls) -> _Session:
        with cls._lock:
            session = cls._current
            if session is None:
                session = cls._current = cls()
            session.check_caller()
            return session

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.thread = threading.get_ident()
        self.driver = _driver_name()
        if self.driver == "espeak":
            # The wheel's eSpeak must be loaded before pyttsx3 imports its espeak driver.
            espeak_lib.load()
            espeak_lib.claim(Pyttsx3Engine.name)
        import pyttsx3

        try:
            self.engine: Any = pyttsx3.init(self.driver)
        except Exception as exc:  # pyttsx3 raises bare RuntimeError/OSError from drivers
            raise EngineError(f"pyttsx3 could not start its '{self.driver}' driver: {exc}") from exc
        self.finished = threading.Event()
        self.returned = threading.Event()
        self.completed: bool | None = None
        self.errors: list[BaseException] = []
        self.engine.connect("finished-utterance", self._on_finished)
        self.engine.connect("error", self._on_error)
        # A new proxy starts "busy", so property changes would wait for the next runAndWait:
        # make it idle so setProperty applies at once and can be read back.
        self.engine.proxy.setBusy(False)
        self._tap: Any = None
        if self.driver == "espeak":
            self._install_tap()
        self.folder = tempfile.TemporaryDirectory(prefix="reviewcast-pyttsx3-")
        self._rate: int | None = 22050 if self.driver == "espeak" else None
        self._voices: list[Any] | None = None
        self._count = 0

    def _install_tap(self) -> None:
        """Know when the driver's eSpeak callback has returned, not just notified.

        The driver notifies ``finished-utterance`` from inside its callback, then still
        touches the proxy (setBusy, endLoop) on eSpeak's thread; starting the next piece
        before that is done races with it. The wrapper is registered for this driver
        instance only; the driver's class is left alone.
        """
        from pyttsx3.drivers import _espeak

        driver = self.engine.proxy._driver
        handler = driver._onSynth

        def tap(wav: Any, count: int, events: Any) -> int:
            try:
                result = int(handler(wav, count, events))
            except Exception as exc:  # e.g. the driver could not write its WAV file
                self.errors.append(exc)
                self.finished.set()
                self.returned.set()
                return 1  # 1 = abort synthesis
            index = 0
            while events[index].type != _espeak.EVENT_LIST_TERMINATED:
                if events[index].type == _espeak.EVENT_MSG_TERMINATED:
                    self.returned.set()
                index += 1
            return result

        self._tap = tap
        _espeak.SetSynthCallback(tap)

    def _on_finished(self, name: str | None = None, completed: bool = False) -> None:
        self.completed = bool(completed)
        self.finished.set()

    def _on_error(self, name: str | None = None, exception: BaseException | None = None) -> None:
        if exception is not None:
            self.errors.append(exception)

    def check_caller(self) -> None:
        espeak_lib.check_caller(Pyttsx3Engine.name, self.pid, self.thread)

    # --- voices ------------------------------------------------------------------------

    def voice_list(self) -> list[Any]:
        self.check_caller()
        if self._voices is None:
            self._voices = list(self.engine.getProperty("voices"))
        return self._voices

    def _select_voice(self, requested: str) -> None:
        voices = self.voice_list()
        if self.driver == "espeak":
            listed = [
                espeak_lib.EspeakVoice(
                    id=str(voice.id).lower(),
                    name=str(voice.name),
                    language=str((voice.languages or [""])[0]).lower(),
                )
                for voice in voices
            ]
            wanted = espeak_lib.resolve_voice(requested, listed, espeak_lib.variant_names())
        else:
            by_name = {str(voice.name).lower(): str(voice.id) for voice in voices}
            ids = {str(voice.id) for voice in voices}
            wanted = requested if requested in ids else by_name.get(requested.lower(), "")
            if not wanted:
                raise EngineError(f"unknown voice '{requested}'; {espeak_lib.VOICES_HINT}")
        self._set("voice", wanted)
        current = self.engine.getProperty("voice")
        same = str(current).lower() == wanted.lower() if current is not None else False
        if not same:
            raise EngineError(
                f"pyttsx3 did not switch to voice '{requested}' (it kept '{current}'); "
                f"{espeak_lib.VOICES_HINT}"
            )

    def _set(self, name: str, value: object) -> None:
        self.errors.clear()
        self.engine.setProperty(name, value)
        if self.errors:
            raise EngineError(f"pyttsx3 rejected {name} = {value!r}: {self.errors[0]}")

    # --- speaking ----------------------------------------------------------------------

    def sample_rate(self) -> int:
        self.check_caller()
        if self._rate is None:
            # Other drivers' rates are known only from a file they wrote.
            self._rate = self._speak_piece("a")[1]
        return self._rate

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        self.check_caller()
        pieces = espeak_lib.split_text(text)
        if not pieces:
            return b""
        self._select_voice(preset.voice)
        # The same order as the espeak engine, so both put eSpeak in the same state.
        self._set("rate", preset.rate)
        self._set("volume", preset.volume)
        if self.driver == "espeak":  # the other drivers have no pitch property
            self._set("pitch", preset.pitch)
        audio = bytearray()
        rate = self.sample_rate()
        for piece in pieces:
            pcm, piece_rate = self._speak_piece(piece)
            if piece_rate != rate:
                raise EngineError(
                    f"pyttsx3's {self.driver} driver changed sample rate ({rate} → {piece_rate} "
                    "Hz) between pieces; use one voice per engine"
                )
            audio += pcm
        if not espeak_lib.has_sound(audio):
            raise EngineError(f"pyttsx3 produced only silence for {text[:60]!r}")
        return bytes(audio)

    def _speak_piece(self, piece: str) -> tuple[bytes, int]:
        self._count += 1
        path = Path(self.folder.name) / f"piece-{self._count}.wav"
        self.finished.clear()
        self.returned.clear()
        self.completed = None
        self.errors.clear()
        if self.driver == "espeak":
            self._wait_until_idle()
            espeak_lib.reset_synthesis_state()
        # The driver prints "Audio saved to …" from eSpeak's thread while we wait here.
        with contextlib.redirect_stdout(io.StringIO()):
            self.engine.save_to_file(piece, str(path))
            self.engine.runAndWait()
            if not self.finished.wait(PIECE_TIMEOUT_S):
                raise EngineError(
                    f"pyttsx3 did not finish speaking within {PIECE_TIMEOUT_S:.0f} s: "
                    f"{piece[:60]!r}{self._error_note()}"
                )
            if self._tap is not None and not self.returned.wait(PIECE_TIMEOUT_S):
                raise EngineError("eSpeak's callback did not return after speaking")
        if not self.completed:
            raise EngineError(
                f"pyttsx3 stopped before the end of {piece[:60]!r}{self._error_note()}"
            )
        try:
            return _read_wav(path)
        finally:
            path.unlink(missing_ok=True)

    def _wait_until_idle(self) -> None:
        """Wait until eSpeak has no command running or queued.

        In pyttsx3's mode eSpeak queues rate, volume and pitch changes and runs them on its
        own thread. If ``runAndWait`` finds eSpeak busy, pyttsx3's ``stop()`` cancels and
        marks the driver as stopping, and the driver then cancels the piece it has just
        started, reporting ``completed=False``.
        """
        from pyttsx3.drivers import _espeak

        deadline = time.monotonic() + PIECE_TIMEOUT_S
        while _espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise EngineError("eSpeak stayed busy for a minute")
            time.sleep(0.001)

    def _error_note(self) -> str:
        return f" ({self.errors[0]})" if self.errors else ""


def _read_wav(path: Path) -> tuple[bytes, int]:
    """A WAV file's audio as s16le mono PCM, and its sample rate."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise EngineError(f"pyttsx3 wrote no readable WAV file ({exc})") from exc
    if width == 2 and channels == 1:
        return frames, rate
    # Other drivers may write 8-bit or stereo files: mix to 16-bit mono.
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128) * 256
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.int64) >> 16
    else:
        raise EngineError(f"pyttsx3 wrote {width * 8}-bit audio, which reviewcast can't read")
    mono = samples.reshape(-1, channels).mean(axis=1)
    return np.clip(np.round(mono), -32768, 32767).astype("<i2").tobytes(), rate
