"""How intelligible each voice is: synthesise a review, recognise it, count the word errors.

    python benchmarks/intelligibility.py                       # every voice in VOICES
    python benchmarks/intelligibility.py --only espeak-en-us-160 --only piper-joe-160
    python benchmarks/intelligibility.py --preset default --blocks 0-5 --json out.json

Each voice speaks the review sentences a listener hears (the ``review`` segments' ``say`` text
from ``reviewcast.pipeline.load_script``), each sentence is resampled to 16 kHz and recognised
by PocketSphinx's bundled US English model, and jiwer counts the word error rate (WER) of the
recognised words against the spoken text, both lower-cased without punctuation. A machine
listener is a blunt stand-in for a person, but a fixed, free and repeatable one: a lower WER
means the words came through more clearly.

Every voice runs in a process of its own (``--worker``), since eSpeak can be started once per
process. ``--preset NAME`` measures a voice preset (the show's voices/NAME.toml, else the
packaged one) instead of the list below; tests/test_intelligibility.py uses that for the
default voice.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "reviews" / "tron-ares-ost.txt"
#: PocketSphinx's US English acoustic model is trained on 16 kHz speech.
RECOGNISER_RATE = 16000


@dataclass(frozen=True)
class Voice:
    """One voice to measure: an engine, its voice id and preset values."""

    label: str
    engine: str
    voice: str
    rate: int = 160
    pitch: int = 50
    volume: float = 1.0
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None  # Piper only: onnxruntime's seed instead of the engine's own


#: eSpeak en-us across rates, en-gb, eSpeak variants, and Piper's joe voice. The direct
#: ``espeak`` engine speaks exactly as ``pyttsx3`` does (same library and parameters, sample
#: for sample: tests/test_speech.py), without pyttsx3's thread in the way. Piper draws random
#: noise, so joe is measured with three onnxruntime seeds to show how much that moves its WER.
VOICES = [
    *(
        Voice(f"espeak-en-us-{rate}", "espeak", "gmw/en-us", rate)
        for rate in (120, 140, 150, 160, 170, 180, 200)
    ),
    *(Voice(f"espeak-en-gb-{rate}", "espeak", "gmw/en", rate) for rate in (140, 160)),
    *(Voice(f"espeak-en-us+f3-{rate}", "espeak", "gmw/en-us+f3", rate) for rate in (140, 160)),
    Voice("espeak-en-us+m3-160", "espeak", "gmw/en-us+m3", 160),
    Voice("pyttsx3-en-us-160", "pyttsx3", "gmw/en-us", 160),
    Voice("piper-joe-160", "piper", "joe", 160),
    Voice("piper-joe-160-seed1", "piper", "joe", 160, seed=1),
    Voice("piper-joe-160-seed2", "piper", "joe", 160, seed=2),
    Voice("piper-joe-140", "piper", "joe", 140),
    Voice("piper-joe-160-noise0", "piper", "joe", 160, settings={"noise_scale": 0, "noise_w": 0}),
]
#: The voice the others are compared with: the default preset's sound.
REFERENCE = "espeak-en-us-160"
#: Resamplings of the sentences for the 95 % intervals.
BOOTSTRAP = 2000


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the chosen voices and print a Markdown table; 1 if any voice failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--review", type=Path, default=SAMPLE, help="a review in a show")
    parser.add_argument("--blocks", default="", help="only these paragraphs, e.g. 0-5 or 0,2,4")
    parser.add_argument("--only", action="append", default=[], help="a label from VOICES")
    parser.add_argument("--preset", action="append", default=[], help="a voice preset's name")
    parser.add_argument("--jobs", type=int, default=1, help="voices measured at once")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(work(json.loads(args.worker))))
        return 0
    voices = [v for v in VOICES if not args.only or v.label in args.only]
    unknown = set(args.only) - {v.label for v in VOICES}
    if unknown:
        parser.error(f"unknown --only {sorted(unknown)}; labels: {[v.label for v in VOICES]}")
    jobs: list[dict[str, Any]] = [{"preset": name} for name in args.preset]
    if not args.preset:
        jobs = [{"voice": asdict(v)} for v in voices]
    for job in jobs:
        job.update(review=str(args.review.resolve()), blocks=args.blocks)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(run_worker, jobs))
    intervals(results)
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 1 if any("error" in r for r in results) else 0


def run_worker(job: dict[str, Any]) -> dict[str, Any]:
    """Measure one voice in a fresh process; its result, or one with an ``error``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        label = job.get("preset") or job["voice"]["label"]
        return {"label": label, "error": proc.stderr.strip().splitlines()[-1:] or ["crashed"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(score(result["references"], result["hypotheses"]))
    return result


def work(job: dict[str, Any]) -> dict[str, Any]:
    """In the worker process: synthesise and recognise every sentence of one voice."""
    from reviewcast.speech import VoicePreset, load_preset

    review = Path(job["review"])
    show_root = review.parent.parent
    if "preset" in job:
        preset = load_preset(job["preset"], show_root)
        label = f"preset {preset.name} ({preset.engine} {preset.voice} {preset.rate})"
    else:
        voice = Voice(**job["voice"])
        label = voice.label
        preset = VoicePreset(
            name=voice.label,
            engine=voice.engine,
            voice=voice.voice,
            rate=voice.rate,
            pitch=voice.pitch,
            volume=voice.volume,
            settings=tuple(sorted(voice.settings.items())),
        )
    sentences = review_sentences(review, job["blocks"])
    engine = make_engine(preset.engine)
    seed = job.get("voice", {}).get("seed")
    if seed is not None:  # before the first synthesis loads the voice's model
        importlib.import_module("onnxruntime").set_seed(seed)
    decoder = recogniser()
    hypotheses: list[str] = []
    synth_s = synth_cpu_s = recognise_s = recognise_cpu_s = audio_s = 0.0
    for sentence in sentences:
        start, cpu = time.perf_counter(), time.process_time()
        pcm = engine.synthesize(sentence, preset)
        synth_s += time.perf_counter() - start
        # CPU time of all threads: a speed that does not depend on what else the machine runs
        synth_cpu_s += time.process_time() - cpu
        audio_s += len(pcm) / 2 / engine.sample_rate()
        audio = resample(pcm, engine.sample_rate(), RECOGNISER_RATE)
        start, cpu = time.perf_counter(), time.process_time()
        hypotheses.append(recognise(decoder, audio))
        recognise_s += time.perf_counter() - start
        recognise_cpu_s += time.process_time() - cpu
    return {
        "label": label,
        "engine": preset.engine,
        "voice": preset.voice,
        "rate": preset.rate,
        "settings": dict(preset.settings),
        "engine_version": engine.version(),
        "blocks": job["blocks"],
        "sentences": len(sentences),
        "audio_s": round(audio_s, 2),
        "synth_s": round(synth_s, 2),
        "synth_cpu_s": round(synth_cpu_s, 2),
        "recognise_s": round(recognise_s, 2),
        "recognise_cpu_s": round(recognise_cpu_s, 2),
        "references": sentences,
        "hypotheses": hypotheses,
    }


def review_sentences(review: Path, blocks: str) -> list[str]:
    """The review sentences a listener hears (``say`` text), optionally of some paragraphs."""
    from reviewcast.config import load_config
    from reviewcast.pipeline import load_script

    script = load_script(load_config(review.parent.parent), review)
    wanted = parse_blocks(blocks)
    return [
        s.say
        for s in script.segments
        if s.kind == "review" and (wanted is None or s.block in wanted)
    ]


def parse_blocks(spec: str) -> set[int] | None:
    """``0-5`` or ``0,2,4`` as a set of paragraph indices; None (all) for an empty spec."""
    if not spec.strip():
        return None
    found: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        found.update(range(int(low), int(high or low) + 1))
    return found


def make_engine(name: str) -> Any:
    """A fresh engine of kind ``name``, imported directly like tests/speech_probe.py does."""
    from reviewcast.errors import EngineError
    from reviewcast.speech.espeak_engine import EspeakEngine
    from reviewcast.speech.piper_engine import PiperEngine
    from reviewcast.speech.pyttsx3_engine import Pyttsx3Engine

    classes: dict[str, Any] = {
        "espeak": EspeakEngine,
        "pyttsx3": Pyttsx3Engine,
        "piper": PiperEngine,
    }
    if name not in classes:
        from reviewcast.speech import get_engine

        return get_engine(name)
    reason = classes[name].availability()
    if reason is not None:
        raise EngineError(f"speech engine '{name}' is unavailable: {reason}")
    return classes[name]()


def resample(pcm: bytes, rate: int, target: int) -> bytes:
    """s16le mono PCM from ``rate`` to ``target`` Hz with ffmpeg (the one reviewcast uses)."""
    if rate == target:
        return pcm
    from reviewcast.audio import ffmpeg_exe

    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "s16le", "-ar", str(rate)]
    cmd += ["-ac", "1", "-i", "-", "-f", "s16le", "-ar", str(target), "-ac", "1", "-"]
    return subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout


def recogniser() -> Any:
    """PocketSphinx with its bundled US English model and language model, at 16 kHz."""
    pocketsphinx = importlib.import_module("pocketsphinx")  # untyped
    return pocketsphinx.Decoder(samprate=RECOGNISER_RATE, loglevel="FATAL")


def recognise(decoder: Any, pcm: bytes) -> str:
    """The words PocketSphinx hears in one utterance of 16 kHz s16le PCM."""
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hypothesis = decoder.hyp()
    return str(hypothesis.hypstr) if hypothesis is not None else ""


def score(references: list[str], hypotheses: list[str]) -> dict[str, Any]:
    """WER over all sentences, both sides lower-cased, hyphens split, punctuation removed."""
    jiwer = importlib.import_module("jiwer")  # partly untyped
    normalise = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.SubstituteRegexes({r"[’‘]": "'", r"[-–—/]": " "}),
            jiwer.RemovePunctuation(),  # also apostrophes, on both sides alike: "theres"
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    out = jiwer.process_words(
        references, hypotheses, reference_transform=normalise, hypothesis_transform=normalise
    )
    errors = []  # per sentence, for the intervals
    for chunks in out.alignments:
        count = 0
        for chunk in chunks:
            if chunk.type in ("substitute", "delete"):
                count += chunk.ref_end_idx - chunk.ref_start_idx
            elif chunk.type == "insert":
                count += chunk.hyp_end_idx - chunk.hyp_start_idx
        errors.append(count)
    return {
        "wer": round(out.wer, 4),
        "words": out.hits + out.substitutions + out.deletions,
        "substitutions": out.substitutions,
        "deletions": out.deletions,
        "insertions": out.insertions,
        "sentence_errors": errors,
        "sentence_words": [len(words) for words in out.references],
    }


def intervals(results: list[dict[str, Any]]) -> None:
    """Add a 95 % bootstrap interval of each WER, and of its difference from REFERENCE's.

    Sentences are resampled with replacement; the difference is paired (the same resampled
    sentences for both voices), so it shows whether a voice is really clearer than eSpeak's
    default on this text, or only by the luck of a few sentences.
    """
    import numpy as np

    done = [r for r in results if "error" not in r]
    if not done:
        return
    count = len(done[0]["sentence_words"])
    picks = np.random.default_rng(0).integers(0, count, (BOOTSTRAP, count))

    def resampled(r: dict[str, Any]) -> Any:
        errors = np.asarray(r["sentence_errors"])[picks].sum(axis=1)
        return errors / np.asarray(r["sentence_words"])[picks].sum(axis=1)

    reference = next((r for r in done if r["label"] == REFERENCE), None)
    for r in done:
        r["wer_95"] = [round(float(v), 3) for v in np.percentile(resampled(r), [2.5, 97.5])]
        if reference is not None and r["references"] == reference["references"]:
            diff = resampled(r) - resampled(reference)
            r["vs_reference_95"] = [round(float(v), 3) for v in np.percentile(diff, [2.5, 97.5])]


def table(results: list[dict[str, Any]]) -> str:
    """The results as a Markdown table, best WER first."""
    lines = [
        f"| voice | WER [95 % interval] | Δ vs {REFERENCE} [95 %] | words | sub / del / ins "
        "| audio s | synthesis × real time per CPU s | recognise CPU s |",
        "|---|---|---|---:|---|---:|---:|---:|",
    ]
    for r in sorted(results, key=lambda r: r.get("wer", 9.0)):
        if "error" in r:
            lines.append(f"| {r['label']} | failed: {' '.join(r['error'])} |||||||")
            continue
        speed = r["audio_s"] / r["synth_cpu_s"] if r["synth_cpu_s"] else float("inf")
        recognise = r.get("recognise_cpu_s", r["recognise_s"])
        low, high = r.get("wer_95", [float("nan")] * 2)
        delta = ""
        if "vs_reference_95" in r and r["label"] != REFERENCE:
            dlow, dhigh = r["vs_reference_95"]
            delta = f"{dlow:+.3f} … {dhigh:+.3f}"
        lines.append(
            f"| {r['label']} | {r['wer']:.3f} [{low:.3f}–{high:.3f}] | {delta} | {r['words']} "
            f"| {r['substitutions']} / {r['deletions']} / {r['insertions']} "
            f"| {r['audio_s']:.1f} | {speed:.0f} | {recognise:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
