"""The eSpeak NG library shipped in the ``espeakng-loader`` wheel, usable with no system package.

Both eSpeak engines (``pyttsx3`` on Linux and the direct ``espeak`` engine) run on this one copy
of libespeak-ng. :func:`load` must run before pyttsx3's espeak driver is imported: it points
``ESPEAK_DATA_PATH`` at the wheel's data (without it eSpeak calls ``exit(1)`` and takes the
process down) and loads the library globally, so that pyttsx3's own
``cdll.LoadLibrary("libespeak-ng.so.1")`` finds this already-loaded copy by its SONAME.

The module also holds what both engines share: which engine started eSpeak in this process
(:func:`claim` — eSpeak can be initialised once per process, in one output mode), voice lookup
(:func:`resolve_voice`), splitting long text into safe pieces (:func:`split_text`) and
:func:`reset_synthesis_state`, which makes the same text give the same samples.
"""

from __future__ import annotations

import ctypes
import difflib
import importlib.metadata
import os
import re
import struct
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reviewcast.errors import EngineError

#: eSpeak's AUDIO_OUTPUT_* modes (speak_lib.h).
AUDIO_OUTPUT_RETRIEVAL = 1
AUDIO_OUTPUT_SYNCHRONOUS = 2
#: espeak_PARAMETER values (speak_lib.h).
RATE = 1
VOLUME = 2
PITCH = 3
#: espeak_Synth flags: UTF-8 text, and a sentence pause at the end (what pyttsx3 passes).
SYNTH_FLAGS = 0x1 | 0x1000
POS_CHARACTER = 1
EE_OK = 0

#: Longest piece of text handed to eSpeak at once. pyttsx3 2.99 passes ten times the text's
#: size to eSpeak as its buffer size, and about 26 KB of text crashes the process; a
#: paragraph-sized limit keeps far from that and keeps pyttsx3's quadratic buffer small.
MAX_PIECE_CHARS = 1000

#: The eSpeak engines share these messages so a user sees one way to find voice ids.
VOICES_HINT = "run `reviewcast voices` to see the voice ids this engine accepts"

SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Voice(ctypes.Structure):
    """espeak_VOICE (speak_lib.h)."""

    _fields_ = (
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    )


@dataclass(frozen=True)
class EspeakVoice:
    """One eSpeak voice: its id (as pyttsx3 lists it, lower case), name and main language."""

    id: str
    name: str
    language: str


@dataclass
class _Library:
    cdll: ctypes.CDLL
    path: str
    data_path: str
    #: Addresses and start values of eSpeak's synthesis state that outlives an utterance.
    state: list[tuple[ctypes.c_int, int]]


_lock = threading.Lock()
_library: _Library | None = None
_failure: str | None = None
_owner: str | None = None


def load() -> ctypes.CDLL:
    """The wheel's libespeak-ng, loaded once with ESPEAK_DATA_PATH set; else EngineError."""
    global _library, _failure
    with _lock:
        if _library is not None:
            return _library.cdll
        if _failure is not None:
            raise EngineError(_failure)
        try:
            _library = _load()
        except EngineError as exc:
            _failure = str(exc)
            raise
        return _library.cdll


def _load() -> _Library:
    try:
        import espeakng_loader
    except ImportError:
        raise EngineError(
            "eSpeak NG is missing: the Python package 'espeakng-loader' is not installed "
            "(pip install espeakng-loader)"
        ) from None
    try:
        data_path = str(espeakng_loader.get_data_path())
        lib_path = str(espeakng_loader.get_library_path())
    except Exception as exc:  # the package raises RuntimeError for a broken install
        raise EngineError(f"the espeakng-loader package is broken: {exc}") from exc
    if not (Path(data_path) / "phontab").is_file():
        raise EngineError(f"eSpeak NG's data is incomplete: no phontab in {data_path}")
    # The data must match this library's version, so a data path set for a system eSpeak
    # would be wrong here: always point at the wheel's own copy.
    os.environ["ESPEAK_DATA_PATH"] = data_path
    # pyttsx3's espeak driver imported earlier has loaded some other libespeak-ng (or failed);
    # our copy would then be a second, separate library whose state we cannot reset for it.
    pyttsx3_first = "pyttsx3.drivers._espeak" in sys.modules
    try:
        cdll = ctypes.CDLL(lib_path, mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        raise EngineError(f"cannot load eSpeak NG from {lib_path}: {exc}") from exc
    _declare(cdll)
    state = [] if pyttsx3_first else _find_state(cdll, lib_path)
    return _Library(cdll=cdll, path=lib_path, data_path=data_path, state=state)


def _declare(cdll: ctypes.CDLL) -> None:
    cdll.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    cdll.espeak_Initialize.restype = ctypes.c_int
    cdll.espeak_SetSynthCallback.argtypes = [SynthCallback]
    cdll.espeak_SetSynthCallback.restype = None
    cdll.espeak_Synth.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    cdll.espeak_Synth.restype = ctypes.c_int
    cdll.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    cdll.espeak_SetVoiceByName.restype = ctypes.c_int
    cdll.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    cdll.espeak_SetParameter.restype = ctypes.c_int
    cdll.espeak_GetCurrentVoice.argtypes = []
    cdll.espeak_GetCurrentVoice.restype = ctypes.POINTER(_Voice)
    cdll.espeak_ListVoices.argtypes = [ctypes.POINTER(_Voice)]
    cdll.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
    cdll.espeak_Info.argtypes = [ctypes.c_void_p]
    cdll.espeak_Info.restype = ctypes.c_char_p


def availability() -> str | None:
    """None when the wheel's eSpeak NG loads; otherwise why not, for users."""
    try:
        load()
    except EngineError as exc:
        return str(exc)
    return None


def data_path() -> str:
    """The espeak-ng-data folder that eSpeak reads."""
    load()
    assert _library is not None
    return _library.data_path


def version() -> str:
    """eSpeak NG's version, e.g. ``1.52.0``."""
    raw = load().espeak_Info(None)
    return raw.decode("utf-8", "replace") if raw else "unknown"


def package_version() -> str:
    """The espeakng-loader wheel's version (it fixes eSpeak's build and data)."""
    try:
        return importlib.metadata.version("espeakng-loader")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- one output mode per process ---------------------------------------------------------


def owner() -> str | None:
    """Which engine started eSpeak in this process, if one did."""
    if _owner is None and _pyttsx3_started_espeak():
        return "pyttsx3"
    return _owner


def claim(engine: str) -> None:
    """Record that ``engine`` starts eSpeak here; EngineError if another engine already did.

    eSpeak keeps one global state and can be initialised once per process, in one output
    mode: pyttsx3 uses the asynchronous retrieval mode, the direct engine the synchronous one.
    """
    global _owner
    current = owner()
    if current is not None and current != engine:
        raise EngineError(conflict_message(engine, current))
    _owner = engine


def availability_for(engine: str) -> str | None:
    """None when ``engine`` may use eSpeak NG in this process: it loads, and no other engine
    has started it (eSpeak runs in one output mode per process)."""
    reason = availability()
    if reason is not None:
        return reason
    current = owner()
    if current is not None and current != engine:
        return conflict_message(engine, current)
    return None


def conflict_message(engine: str, current: str) -> str:
    """Why ``engine`` cannot start eSpeak when ``current`` already has, and what to do."""
    return (
        f"eSpeak NG is already running in this process for the '{current}' engine; eSpeak can "
        f"be started only once per process, so the '{engine}' engine cannot run here too. "
        "Use one eSpeak engine per process (for example, run the other one in a worker process)"
    )


def _pyttsx3_started_espeak() -> bool:
    # pyttsx3 started outside reviewcast still holds eSpeak in retrieval mode.
    driver = sys.modules.get("pyttsx3.drivers.espeak")
    return bool(getattr(getattr(driver, "EspeakDriver", None), "_moduleInitialized", False))


def check_caller(engine: str, pid: int, thread: int) -> None:
    """EngineError unless called from process ``pid`` and thread ``thread``, which made ``engine``.

    Neither pyttsx3 nor eSpeak is thread-safe, and a forked child inherits eSpeak's state
    without the thread that drives it.
    """
    if os.getpid() != pid:
        raise EngineError(
            f"the {engine} engine was created before this process was forked and cannot be used "
            "here: start worker processes with the 'spawn' method, or fork before creating the "
            "engine"
        )
    if threading.get_ident() != thread:
        raise EngineError(
            f"the {engine} engine was created in another thread and is not thread-safe: use it "
            "only from the thread that created it (or one engine per worker process)"
        )


# --- voices ------------------------------------------------------------------------------


def list_voices(spec: str | None = None) -> list[EspeakVoice]:
    """eSpeak's voices (``spec="variant"`` lists the variants). Needs eSpeak started."""
    if spec not in _listed:
        found = _voices(spec)
        if not found:  # eSpeak not started yet: nothing to keep
            return []
        _listed[spec] = found
    return list(_listed[spec])


# eSpeak reads its voice folders on every listing (6 ms; 0.15 s a review when each sentence
# chose its voice), and they do not change while a process runs: list them once.
_listed: dict[str | None, tuple[EspeakVoice, ...]] = {}


def _voices(spec: str | None) -> tuple[EspeakVoice, ...]:
    cdll = load()
    spec_struct = None
    if spec is not None:
        spec_struct = ctypes.pointer(_Voice(languages=spec.encode("utf-8")))
    array = cdll.espeak_ListVoices(spec_struct)
    found: list[EspeakVoice] = []
    index = 0
    while array[index]:
        voice = array[index].contents
        languages = voice.languages or b""
        # languages is a priority byte followed by the language name.
        found.append(
            EspeakVoice(
                id=(voice.identifier or b"").decode("utf-8", "replace").lower(),
                name=(voice.name or b"").decode("utf-8", "replace"),
                language=languages[1:].decode("utf-8", "replace").lower(),
            )
        )
        index += 1
    return tuple(found)


def variant_names() -> list[str]:
    """The names accepted after ``+`` in a voice id (``gmw/en-us+f3``), as eSpeak spells them."""
    if not _variants:
        cdll = load()
        spec = ctypes.pointer(_Voice(languages=b"variant"))
        array = cdll.espeak_ListVoices(spec)
        index = 0
        while array[index]:
            identifier = (array[index].contents.identifier or b"").decode("utf-8", "replace")
            _variants.append(identifier.rsplit("/", 1)[-1])
            index += 1
    return list(_variants)


_variants: list[str] = []  # listed once, as the voices are


def current_voice() -> str | None:
    """The id of eSpeak's current voice (lower case, with any ``+variant``), if one is set."""
    pointer = load().espeak_GetCurrentVoice()
    if not pointer or not pointer.contents.identifier:
        return None
    return str(pointer.contents.identifier.decode("utf-8", "replace").lower())


def resolve_voice(requested: str, voices: Sequence[EspeakVoice], variants: Sequence[str]) -> str:
    """The voice id eSpeak should be given for ``requested``; EngineError naming close matches.

    Accepted: an id (``gmw/en-us``), the last part of one (``en-us``, which eSpeak itself
    resolves), a language that one voice speaks (``en-gb``), each optionally followed by
    ``+variant`` (``gmw/en-us+f3``). eSpeak's own lookup would quietly keep the previous voice
    for an unknown name and accept folder names such as ``gmw`` as a voice without sound data.
    """
    base, plus, variant = requested.strip().partition("+")
    key = base.lower()
    by_id = {voice.id: voice.id for voice in voices}
    by_file = {voice.id.rsplit("/", 1)[-1]: voice.id for voice in voices}
    by_language: dict[str, list[str]] = {}
    for voice in voices:
        by_language.setdefault(voice.language, []).append(voice.id)
    resolved = by_id.get(key) or by_file.get(key)
    if resolved is None and key in by_language:
        candidates = by_language[key]
        if len(candidates) > 1:
            raise EngineError(
                f"voice '{requested}' is ambiguous: language '{key}' is spoken by "
                f"{', '.join(candidates)}; give one of these ids"
            )
        resolved = candidates[0]
    if resolved is None:
        names = {**by_file, **by_id}
        close = difflib.get_close_matches(key, list(names), n=6, cutoff=0.6)
        ids = list(dict.fromkeys(names[name] for name in close))[:3]
        raise EngineError(f"unknown voice '{requested}'{_did_you_mean(ids)}; {VOICES_HINT}")
    if not plus:
        return resolved
    if variant not in variants:
        # eSpeak ignores an unknown variant (they are case-sensitive file names) in silence.
        near = [name for name in variants if name.lower() == variant.lower()]
        if not near:
            near = difflib.get_close_matches(variant, list(variants), n=3, cutoff=0.6)
        hint = _did_you_mean([f"+{name}" for name in near])
        raise EngineError(
            f"unknown voice variant '+{variant}' in '{requested}'{hint}; "
            f"variants: {', '.join(sorted(variants, key=str.lower))}"
        )
    return f"{resolved}+{variant}"


def _did_you_mean(names: Sequence[str]) -> str:
    if not names:
        return ""
    return " (did you mean " + " or ".join(f"'{name}'" for name in names) + "?)"


# --- the same text gives the same samples ------------------------------------------------

#: eSpeak's wavegen keeps these across utterances and never resets them: the phase of its
#: pitch "flutter" (a function-static index into a table of small pitch variations), its
#: count of pitch cycles (used by voice roughness), its automatic gain, the echo still to play
#: and its random-number state. So the same sentence comes out a few samples longer or
#: shorter depending on what was spoken before it in the process. The names are those of the
#: library's symbol table; the ``.`` marks a function-static variable.
_STATE_SYMBOLS = (
    ("Flutter_ix.", True),
    ("cycle_count.", True),
    ("agc.", True),
    ("echo_complete.", True),
    ("espeak_rand_state", False),
)


def _find_state(cdll: ctypes.CDLL, path: str) -> list[tuple[ctypes.c_int, int]]:
    """The state variables' addresses and start values; empty if they can't be found safely."""
    try:
        symbols = _elf_symbols(Path(path))
    except (OSError, ValueError, struct.error):
        return []  # not ELF (macOS, Windows) or stripped: nothing to reset
    anchor = symbols.get("espeak_Synth")
    function = ctypes.cast(cdll.espeak_Synth, ctypes.c_void_p).value
    if anchor is None or function is None:
        return []
    base = function - anchor[0]
    if base % 4096:
        return []  # the library is not laid out as its symbol table says
    state: list[tuple[ctypes.c_int, int]] = []
    for name, is_prefix in _STATE_SYMBOLS:
        matches = [
            value
            for symbol, value in symbols.items()
            if (symbol.startswith(name) and symbol[len(name) :].isdigit())
            or (not is_prefix and symbol == name)
        ]
        if len(matches) != 1 or matches[0][1] != ctypes.sizeof(ctypes.c_int):
            return []  # another build of eSpeak: reset all or nothing
        variable = ctypes.c_int.from_address(base + matches[0][0])
        state.append((variable, variable.value))
    return state


def _elf_symbols(path: Path) -> dict[str, tuple[int, int]]:
    """Data-object and function symbols of a 64-bit little-endian ELF file: name → (value, size)."""
    data = path.read_bytes()
    if data[:6] != b"\x7fELF\x02\x01":
        raise ValueError("not a 64-bit little-endian ELF file")
    (section_offset,) = struct.unpack_from("<Q", data, 0x28)
    entry_size, count = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, section_offset + i * entry_size)
        for i in range(count)
    ]
    symbols: dict[str, tuple[int, int]] = {}
    for _name, kind, _flags, _addr, offset, size, link, _info, _align, sym_size in sections:
        if kind != 2:  # SHT_SYMTAB: the full symbol table, locals included
            continue
        strings_offset = sections[link][4]
        for start in range(offset, offset + size, sym_size):
            name_at, info, _other, _index, value, length = struct.unpack_from(
                "<IBBHQQ", data, start
            )
            if info & 0xF not in (1, 2):  # STT_OBJECT, STT_FUNC
                continue
            end = data.index(b"\0", strings_offset + name_at)
            symbols[data[strings_offset + name_at : end].decode("ascii", "replace")] = (
                value,
                length,
            )
    return symbols


def can_reset() -> bool:
    """Whether :func:`reset_synthesis_state` works with this build of eSpeak."""
    load()
    assert _library is not None
    return bool(_library.state)


def reset_synthesis_state() -> bool:
    """Put eSpeak's carried-over synthesis state back to its start values; False if unsupported.

    Call it only while eSpeak is idle (between utterances). Then an utterance sounds the same,
    sample for sample, whatever was spoken before it in the process.
    """
    load()
    assert _library is not None
    for variable, start in _library.state:
        variable.value = start
    return bool(_library.state)


def has_sound(pcm: bytes | bytearray, threshold: int = 64) -> bool:
    """Whether s16le ``pcm`` has any sample louder than ``threshold`` (about -54 dBFS)."""
    samples = np.frombuffer(pcm, dtype="<i2")
    return bool(samples.size) and int(np.abs(samples.astype(np.int32)).max()) > threshold


# --- safe pieces -------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+|\s+(?=[—–]\s)")
_SPACE = re.compile(r"\s+")


def split_text(text: str, limit: int = MAX_PIECE_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at sentence, clause or word ends.

    Whole sentences are packed together up to the limit; a longer sentence is cut at clause
    ends (commas, semicolons, dashes), then between words, and a single word longer than the
    limit is cut where it must. Whitespace runs become single spaces.
    """
    flat = _SPACE.sub(" ", text).strip()
    if not flat:
        return []
    units: list[str] = []
    for sentence in _split_keep(flat, _SENTENCE_END):
        units.extend(_fit(sentence, limit))
    pieces: list[str] = []
    for unit in units:
        if pieces and len(pieces[-1]) + 1 + len(unit) <= limit:
            pieces[-1] = f"{pieces[-1]} {unit}"
        else:
            pieces.append(unit)
    return pieces


def _split_keep(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in pattern.split(text) if part.strip()]


def _fit(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    out: list[str] = []
    for clause in _split_keep(sentence, _CLAUSE_END):
        if len(clause) <= limit:
            _pack(out, clause, limit)
            continue
        for word in clause.split(" "):
            for start in range(0, len(word), limit):
                _pack(out, word[start : start + limit], limit)
    return out


def _pack(out: list[str], part: str, limit: int) -> None:
    if out and len(out[-1]) + 1 + len(part) <= limit:
        out[-1] = f"{out[-1]} {part}"
    else:
        out.append(part)
