"""Run one real speech engine in a process of its own, for tests/test_speech.py.

    python tests/speech_probe.py ENGINE OUTDIR [--voice V] [--rate N] [--pitch N]
        [--volume X] [--text FILE ...] [--scenario NAME]

Synthesises each --text file in order with one engine instance, writing OUTDIR/<n>.pcm, and
writes OUTDIR/result.json (version, sample rate, timings, any EngineError). A real engine runs
here rather than in pytest's process so that a crash fails one test, and so that pyttsx3 and
the direct eSpeak engine never share a process. Exits 3 after an EngineError.

Scenarios: ``thread`` (use the engine from another thread, then from a forked child),
``other`` (start the other eSpeak engine in the same process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reviewcast.errors import EngineError
from reviewcast.speech import Engine, VoicePreset
from reviewcast.speech.espeak_engine import EspeakEngine
from reviewcast.speech.pyttsx3_engine import Pyttsx3Engine

ENGINES: dict[str, type[Engine]] = {"pyttsx3": Pyttsx3Engine, "espeak": EspeakEngine}
OTHER = {"pyttsx3": "espeak", "espeak": "pyttsx3"}


def main() -> int:
    """Run the probe; the exit code is 3 after an EngineError."""
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--voice", default="gmw/en-us")
    parser.add_argument("--rate", type=int, default=160)
    parser.add_argument("--pitch", type=int, default=50)
    parser.add_argument("--volume", type=float, default=1.0)
    parser.add_argument("--text", type=Path, action="append", default=[])
    parser.add_argument("--scenario", choices=["thread", "other"])
    args = parser.parse_args()
    result: dict[str, Any] = {"outputs": []}
    try:
        run(args, result)
    except EngineError as exc:
        result["error"] = str(exc)
    result["env_data_path"] = os.environ.get("ESPEAK_DATA_PATH")
    (args.outdir / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 3 if "error" in result else 0


def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
    """Make the engine, then synthesise or play the scenario."""
    engine = ENGINES[args.engine]()
    result["is_engine"] = isinstance(engine, Engine)
    result["version"] = engine.version()
    result["sample_rate"] = engine.sample_rate()
    result["voices"] = len(engine.voices())
    preset = VoicePreset(
        name="probe",
        engine=args.engine,
        voice=args.voice,
        rate=args.rate,
        pitch=args.pitch,
        volume=args.volume,
    )
    if args.scenario == "thread":
        result["thread_error"] = from_thread(engine, preset)
        result["fork_error"] = from_fork(engine, preset, args.outdir)
    elif args.scenario == "other":
        other = ENGINES[OTHER[args.engine]]
        result["other_availability"] = other.availability()
        try:
            other()
            result["other_error"] = None
        except EngineError as exc:
            result["other_error"] = str(exc)
    for index, path in enumerate(args.text):
        text = path.read_text(encoding="utf-8")
        start = time.perf_counter()
        pcm = engine.synthesize(text, preset)
        seconds = time.perf_counter() - start
        (args.outdir / f"{index}.pcm").write_bytes(pcm)
        result["outputs"].append({"seconds": seconds, "bytes": len(pcm)})


def from_thread(engine: Engine, preset: VoicePreset) -> str | None:
    """The error from using ``engine`` in a thread other than its creator's (None if none)."""
    found: list[str | None] = [None]

    def use() -> None:
        try:
            engine.synthesize("Hello.", preset)
        except EngineError as exc:
            found[0] = str(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join(60)
    return found[0]


def from_fork(engine: Engine, preset: VoicePreset, outdir: Path) -> str | None:
    """The error from using ``engine`` in a child forked after it was made (None if none)."""
    report = outdir / "fork.txt"
    pid = os.fork()
    if pid == 0:
        try:
            engine.synthesize("Hello.", preset)
            report.write_text("", encoding="utf-8")
        except EngineError as exc:
            report.write_text(str(exc), encoding="utf-8")
        finally:
            os._exit(0)  # not the parent's cleanup: eSpeak's thread does not exist here
    os.waitpid(pid, 0)
    text = report.read_text(encoding="utf-8")
    return text or None


if __name__ == "__main__":
    sys.exit(main())
