"""Load on `reviewcast serve`: many concurrent byte-range requests for one episode, on 127.0.0.1.

    python benchmarks/load.py                                   # 500 connections for 30 s
    python benchmarks/load.py --connections 200 --duration 3 --json out.json
    python benchmarks/load.py --show path/to/show --episode episodes/x/x-0123456789.mp3

Starts `reviewcast serve --port 0` on 127.0.0.1 in a subprocess (for a show given with --show,
or a generated one with a single 5 MB episode), opens ``--connections`` keep-alive connections
and keeps one Range request in flight on each until ``--duration`` seconds or
``--max-requests`` requests have passed, whichever comes first. The ranges are what podcast
apps send: Apple's two-byte probe (``bytes=0-1``), windows of 16–256 KB at random offsets, a
suffix (``bytes=-65536``) and, now and then, the rest of the file from near its end.

Every answer is checked: status 206, Content-Range, Content-Length and the bytes themselves
against the file. Reported: requests, errors by kind, requests per second, latency percentiles
(p50, p90, p99, max), and the server's resident memory (at the start, its peak, at the end)
read from /proc every 50 ms. Bounded: every loop stops at the deadline or the request cap, each
request has a timeout, and only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # the only address this script ever contacts
EPISODE = "episodes/load-test/load-test-0123456789.mp3"
REQUEST_TIMEOUT = 10.0
START_TIMEOUT = 20.0


@dataclass
class Result:
    """What one run measured."""

    connections: int
    duration: float  # seconds the load was held
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    requests_per_second: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    bytes_received: int = 0
    server_rss_mb: dict[str, float] = field(default_factory=dict)
    #: Peak RSS up to each quarter of the run (after 25 %, 50 %, 75 %, 100 % of the time).
    server_rss_quarters_mb: list[float] = field(default_factory=list)
    server_alive: bool = True

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


# -- the show and the server --------------------------------------------------------------------


def make_show(root: Path, size: int = 5 * 1024 * 1024) -> Path:
    """A minimal published show: show.toml, one episode of ``size`` bytes and a feed."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "show.toml").write_text('title = "Load Test"\n', encoding="utf-8")
    episode = root / EPISODE
    episode.parent.mkdir(parents=True, exist_ok=True)
    episode.write_bytes(random.Random(1).randbytes(size))
    (root / "feed").mkdir(exist_ok=True)
    (root / "feed" / "feed.xml").write_text('<?xml version="1.0"?><rss version="2.0"/>\n')
    return root


class Server:
    """`reviewcast serve` on 127.0.0.1 and a free port, with its memory watched."""

    def __init__(self, show: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reviewcast", "serve", "--show", str(show), "--host", HOST,
             "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.port = self._port_from_banner()
        self.samples: list[tuple[float, float]] = []  # (monotonic time, RSS in MB)
        self._stop = threading.Event()
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _port_from_banner(self) -> int:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            found = re.search(rf"http://{re.escape(HOST)}:(\d+)/", line)
            if found:
                # Keep reading stdout so that uvicorn's log lines never fill the pipe.
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return int(found[1])
        self.proc.kill()
        raise RuntimeError(f"the server did not start: {self.proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if len(self._stderr) < 10_000:
                self._stderr.append(line)

    def rss_mb(self) -> float | None:
        """The server's resident memory now, in MB; None once it has exited."""
        try:
            with Path(f"/proc/{self.proc.pid}/status").open(encoding="ascii") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            rss = self.rss_mb()
            if rss is None:
                return
            self.samples.append((time.monotonic(), rss))

    def errors_logged(self) -> list[str]:
        """Server log lines about failures (tracebacks, 5xx answers)."""
        return [
            line
            for line in self._stderr
            if "Traceback" in line or "Exception" in line or re.search(r'" 5\d\d\b', line)
        ]

    def stop(self) -> int:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode


# -- the clients --------------------------------------------------------------------------------


def pick_range(rng: random.Random, size: int) -> tuple[str, int, int]:
    """A Range header as podcast apps send them, and the first and last byte it asks for."""
    roll = rng.random()
    if roll < 0.2:
        return "bytes=0-1", 0, 1
    if roll < 0.3:
        return "bytes=-65536", size - 65536, size - 1
    if roll < 0.35:
        first = size - rng.randint(1, 256 * 1024)
        return f"bytes={first}-", first, size - 1
    length = rng.randint(16 * 1024, 256 * 1024)
    first = rng.randint(0, size - length)
    return f"bytes={first}-{first + length - 1}", first, first + length - 1


class Load:
    """Keeps one range request in flight on each connection until the deadline or the cap."""

    def __init__(self, port: int, target: str, data: bytes, deadline: float, cap: int) -> None:
        self.port, self.target, self.data = port, target, data
        self.deadline, self.cap = deadline, cap
        self.started = 0
        self.latencies: list[float] = []
        self.errors: Counter[str] = Counter()
        self.received = 0

    async def connection(self, seed: int) -> None:
        rng = random.Random(seed)
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            while time.monotonic() < self.deadline and self.started < self.cap:
                if writer is None:
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection(HOST, self.port), REQUEST_TIMEOUT
                        )
                    except (OSError, TimeoutError) as exc:
                        self.errors[f"connect: {type(exc).__name__}"] += 1
                        await asyncio.sleep(0.1)
                        continue
                assert reader is not None and writer is not None
                self.started += 1
                header, first, last = pick_range(rng, len(self.data))
                start = time.monotonic()
                try:
                    problem = await asyncio.wait_for(
                        self.exchange(reader, writer, header, first, last), REQUEST_TIMEOUT
                    )
                except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
                    problem = f"{type(exc).__name__}"
                if problem:
                    self.errors[problem] += 1
                    writer.close()
                    writer = None
                else:
                    self.latencies.append(time.monotonic() - start)
        finally:
            if writer is not None:
                writer.close()

    async def exchange(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        header: str,
        first: int,
        last: int,
    ) -> str | None:
        writer.write(
            f"GET /{self.target} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nRange: {header}\r\n"
            "User-Agent: reviewcast-load\r\n\r\n".encode("ascii")
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = dict(
            (name.strip().lower(), value.strip())
            for name, _, value in (line.partition(":") for line in lines if line)
        )
        length = int(headers.get("content-length", "-1"))
        body = await reader.readexactly(length) if length > 0 else b""
        self.received += len(body)
        status = status_line.split(" ", 2)[1] if " " in status_line else "?"
        if status != "206":
            return f"status {status}"
        if headers.get("content-range") != f"bytes {first}-{last}/{len(self.data)}":
            return "wrong Content-Range"
        if body != self.data[first : last + 1]:
            return "wrong bytes"
        if headers.get("connection", "").lower() == "close":
            return "server closed the connection"
        return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def drive(port: int, target: str, data: bytes, args: argparse.Namespace) -> Load:
    deadline = time.monotonic() + args.duration
    load = Load(port, target, data, deadline, args.max_requests)
    tasks = [asyncio.create_task(load.connection(seed)) for seed in range(args.connections)]
    # Every task stops at the deadline; the extra time covers requests still in flight.
    await asyncio.wait_for(asyncio.gather(*tasks), args.duration + REQUEST_TIMEOUT + 5)
    return load


def run(args: argparse.Namespace) -> tuple[Result, list[str]]:
    """Start the server, hold the load, stop the server; the result and the server's error log."""
    with tempfile.TemporaryDirectory() as scratch:
        show = args.show or make_show(Path(scratch) / "show")
        target = args.episode or EPISODE
        data = (show / target).read_bytes()
        server = Server(show)
        try:
            time.sleep(0.3)
            rss_start = server.rss_mb() or float("nan")
            started = time.monotonic()
            load = asyncio.run(drive(server.port, target, data, args))
            held = time.monotonic() - started
            # RSS at each quarter of the run: growth under a steady load would show here.
            quarters = [
                round(max((r for t, r in server.samples if t <= started + q * held), default=0), 1)
                for q in (0.25, 0.5, 0.75, 1.0)
            ]
            time.sleep(0.2)
            rss_end = server.rss_mb() or float("nan")
            alive = server.proc.poll() is None
        finally:
            server.stop()
        logged = server.errors_logged()
    latencies = [1000 * s for s in load.latencies]
    result = Result(
        connections=args.connections,
        duration=round(held, 2),
        requests=len(latencies) + load.errors.total(),
        errors=dict(load.errors),
        requests_per_second=round(len(latencies) / held, 1) if held else 0.0,
        latency_ms={
            name: round(percentile(latencies, q), 1)
            for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        bytes_received=load.received,
        server_rss_mb={
            "start": round(rss_start, 1),
            "peak": round(max((r for _, r in server.samples), default=float("nan")), 1),
            "end": round(rss_end, 1),
        },
        server_rss_quarters_mb=quarters,
        server_alive=alive,
    )
    return result, logged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=500, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to hold the load")
    parser.add_argument(
        "--max-requests", type=int, default=2_000_000, help="stop after this many requests"
    )
    parser.add_argument("--show", type=Path, help="a published show (default: a generated one)")
    parser.add_argument("--episode", help="the file to request, relative to the show")
    parser.add_argument("--json", type=Path, help="also write the result here as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.connections <= 5000 or not 0 < args.duration <= 600:
        parser.error("--connections must be 1–5000 and --duration 0–600 seconds")

    result, logged = run(args)
    print(
        f"{result.requests} requests over {result.connections} connections in "
        f"{result.duration} s: {result.requests_per_second} per second, "
        f"{result.error_count} errors {result.errors or ''}"
    )
    latency = result.latency_ms
    print(
        f"latency ms: p50 {latency['p50']}  p90 {latency['p90']}  p99 {latency['p99']}  "
        f"max {latency['max']}"
    )
    rss = result.server_rss_mb
    print(
        f"server RSS MB: start {rss['start']}  peak {rss['peak']}  end {rss['end']}  "
        f"(peak by each quarter of the run: {result.server_rss_quarters_mb})"
    )
    if logged:
        print(f"server logged {len(logged)} failures, first: {logged[0].strip()}")
    if args.json:
        doc = {**asdict(result), "server_failures_logged": len(logged)}
        args.json.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0 if result.error_count == 0 and not logged and result.server_alive else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
