"""The ``espeak`` engine: libespeak-ng called directly, in eSpeak's synchronous mode.

It speaks exactly as the ``pyttsx3`` engine does on Linux (same library, same voice, rate,
pitch and volume mapping, same pieces of text), sample for sample, without pyttsx3's event
loop and threads in between. eSpeak can be started once per process, in one output mode, so
this engine and the pyttsx3 engine cannot share a process: the second one raises EngineError.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import ClassVar

from reviewcast.errors import EngineError
from reviewcast.speech import VoicePreset, espeak_lib

#: Bump when a change here makes the same text and preset sound different.
ADAPTER_REVISION = 1
#: Length of the buffers eSpeak hands the callback; it changes nothing in the samples.
_BUFFER_MS = 200


class EspeakEngine:
    """eSpeak NG through ctypes; one instance per process, used from the thread that made it."""

    name: ClassVar[str] = "espeak"

    @classmethod
    def availability(cls) -> str | None:
        """None when eSpeak NG loads and no other engine started it in this process."""
        return espeak_lib.availability_for(cls.name)

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._thread = threading.get_ident()
        self._state = _start()
        self._rate = self._state.rate

    def _check_caller(self) -> None:
        espeak_lib.check_caller(self.name, self._pid, self._thread)

    def version(self) -> str:
        """eSpeak's version and the wheel that ships it, plus this adapter's revision."""
        reset = "+reset" if espeak_lib.can_reset() else ""
        return (
            f"espeak-ng {espeak_lib.version()} (espeakng-loader {espeak_lib.package_version()}) "
            f"direct r{ADAPTER_REVISION}{reset}"
        )

    def sample_rate(self) -> int:
        """eSpeak's output rate (22050 Hz for its own voices)."""
        return self._rate

    def voices(self) -> list[str]:
        """eSpeak's voice ids, e.g. ``gmw/en-us``; ``+variant`` (``gmw/en-us+f3``) also works."""
        self._check_caller()
        return [voice.id for voice in espeak_lib.list_voices()]

    def synthesize(self, text: str, preset: VoicePreset) -> bytes:
        """Speak ``text`` with ``preset`` as s16le mono PCM; EngineError on failure."""
        self._check_caller()
        pieces = espeak_lib.split_text(text)
        if not pieces:
            return b""
        self._apply(preset)
        audio = bytearray()
        for piece in pieces:
            audio += self._speak(piece)
        if not espeak_lib.has_sound(audio):
            raise EngineError(f"eSpeak produced only silence for {text[:60]!r}")
        return bytes(audio)

    def _apply(self, preset: VoicePreset) -> None:
        cdll = espeak_lib.load()
        wanted = espeak_lib.resolve_voice(
            preset.voice, espeak_lib.list_voices(), espeak_lib.variant_names()
        )
        status = cdll.espeak_SetVoiceByName(wanted.encode("utf-8"))
        current = espeak_lib.current_voice()
        if status != espeak_lib.EE_OK or current != wanted:
            raise EngineError(
                f"eSpeak could not select voice '{preset.voice}' (error {status}, current voice "
                f"{current}); {espeak_lib.VOICES_HINT}"
            )
        # The same order and values as pyttsx3's espeak driver, so both engines sound the same.
        for parameter, value in (
            (espeak_lib.RATE, preset.rate),
            (espeak_lib.VOLUME, int(round(preset.volume * 100, 2))),  # as pyttsx3 rounds it
            (espeak_lib.PITCH, preset.pitch),
        ):
            if cdll.espeak_SetParameter(parameter, value, 0) != espeak_lib.EE_OK:
                raise EngineError(f"eSpeak rejected parameter {parameter} = {value}")

    def _speak(self, piece: str) -> bytes:
        cdll = espeak_lib.load()
        espeak_lib.reset_synthesis_state()
        self._state.chunks.clear()
        data = piece.encode("utf-8")
        status = cdll.espeak_Synth(
            data,
            len(data) + 1,
            0,
            espeak_lib.POS_CHARACTER,
            0,
            espeak_lib.SYNTH_FLAGS,
            None,
            None,
        )
        if status != espeak_lib.EE_OK:
            raise EngineError(f"eSpeak failed (error {status}) on {piece[:60]!r}")
        return b"".join(self._state.chunks)


class _State:
    """What eSpeak's callback writes into; one per process, like eSpeak itself."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.chunks: list[bytes] = []
        # Kept here so the C callback is not garbage-collected while eSpeak holds it.
        self.callback = espeak_lib.SynthCallback(self._collect)

    def _collect(
        self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None
    ) -> int:
        if count > 0:
            self.chunks.append(ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short)))
        return 0  # 0 = go on


_started: _State | None = None
_started_pid: int | None = None
_start_lock = threading.Lock()


def _start() -> _State:
    """Start eSpeak in synchronous mode once per process."""
    global _started, _started_pid
    with _start_lock:
        if _started is not None and _started_pid == os.getpid():
            return _started
        if _started is not None:
            raise EngineError(
                "eSpeak was started before this process was forked and cannot be used here: "
                "start worker processes with the 'spawn' method, or before creating the engine"
            )
        cdll = espeak_lib.load()
        espeak_lib.claim(EspeakEngine.name)
        rate = cdll.espeak_Initialize(
            espeak_lib.AUDIO_OUTPUT_SYNCHRONOUS,
            _BUFFER_MS,
            espeak_lib.data_path().encode("utf-8"),
            0,
        )
        if rate <= 0:
            raise EngineError(f"eSpeak NG could not start (data in {espeak_lib.data_path()})")
        state = _State(rate)
        cdll.espeak_SetSynthCallback(state.callback)
        _started, _started_pid = state, os.getpid()
        return state
