"""A small asyncio HTTP/1.1 load generator for Agora's benchmarks.

Why not httpx or aiohttp: neither is in the test dependencies, and on a 2-core machine the
client shares the CPU with the server under test, so a lean client leaves more of the machine
to the server. This one keeps one connection per simulated client (keep-alive), sends GET/HEAD
(or a small body) and reads ``Content-Length`` or chunked responses: exactly what a Django
application behind uvicorn sends back.

Loads are bounded twice (a duration and a request count) and only ever aimed at a loopback
address, so a wrong URL cannot turn this into a flood against another machine.

Use it from a scenario module (see ``bench/scenarios/``)::

    results = run_targets("http://127.0.0.1:8123", targets, Settings.from_env())
    print(markdown_table(results))
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import os
import socket
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from bench import cpu

MAX_BODY_BYTES = 64 * 1024 * 1024
MAX_HEADER_BYTES = 64 * 1024
# With 2 workers, above this share of the server's CPU in one process the row is flagged.
UNEVEN_SHARE = 0.7


@dataclass(frozen=True)
class Target:
    """One line of the results table: a label and the request paths it cycles through."""

    name: str
    paths: Sequence[str]
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    # What a reader of the table needs to know about it ("ceiling", "HTML", "writes a counter").
    note: str = ""

    def __post_init__(self) -> None:
        if not self.paths or any(not p.startswith("/") for p in self.paths):
            raise ValueError(f"{self.name}: paths must be a non-empty list of absolute paths")


@dataclass(frozen=True)
class Settings:
    duration: float = 10.0
    concurrency: int = 32
    max_requests: int = 200_000
    warmup: float = 1.0
    timeout: float = 30.0

    @classmethod
    def from_env(cls) -> Settings:
        """BENCH_DURATION (s), BENCH_CONCURRENCY, BENCH_MAX_REQUESTS, BENCH_WARMUP (s), BENCH_TIMEOUT (s)."""
        settings = cls(
            duration=_env_number("BENCH_DURATION", float, cls.duration),
            concurrency=_env_number("BENCH_CONCURRENCY", int, cls.concurrency),
            max_requests=_env_number("BENCH_MAX_REQUESTS", int, cls.max_requests),
            warmup=_env_number("BENCH_WARMUP", float, cls.warmup),
            timeout=_env_number("BENCH_TIMEOUT", float, cls.timeout),
        )
        # Hard limits: a typo in an environment variable must not start an hour-long run.
        if not 0 < settings.duration <= 600:
            raise ValueError("BENCH_DURATION must be between 0 and 600 seconds")
        if not 1 <= settings.concurrency <= 1024:
            raise ValueError("BENCH_CONCURRENCY must be between 1 and 1024")
        if not 1 <= settings.max_requests <= 10_000_000:
            raise ValueError("BENCH_MAX_REQUESTS must be between 1 and 10,000,000")
        if not 0 <= settings.warmup <= 60:
            raise ValueError("BENCH_WARMUP must be between 0 and 60 seconds")
        return settings


N = TypeVar("N", int, float)


def _env_number(name: str, cast: type[N], default: N) -> N:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return cast(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None


@dataclass
class Result:
    target: Target
    elapsed: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport errors and timeouts, by kind
    body_bytes: int = 0
    client_cpu: float = 0.0  # seconds of CPU the load generator itself used
    machine_busy: float = float("nan")  # share of all cores busy during the row
    server_cores: float = float("nan")  # cores used by the server's processes during the row
    store_cores: float = float("nan")  # cores used by the database and cache processes during the row
    busiest_process: float = float("nan")  # share of the server's CPU time taken by its busiest process
    sample_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def errors(self) -> int:
        bad = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return bad + sum(self.failures.values())

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, pct: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
        return ordered[int(rank) - 1]

    def error_summary(self) -> str:
        parts = [f"HTTP {s} ×{n}" for s, n in sorted(self.statuses.items()) if not 200 <= s < 300]
        parts += [f"{kind} ×{n}" for kind, n in self.failures.most_common()]
        return ", ".join(parts)


class BenchError(Exception):
    pass


def check_loopback(base_url: str) -> tuple[str, int]:
    """The host and port of ``base_url``, refusing anything but plain HTTP on a loopback address."""
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise BenchError(f"only http://<loopback>:<port> URLs are accepted, not {base_url!r}")
    host = parts.hostname
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    except socket.gaierror as exc:
        raise BenchError(f"cannot resolve {host!r}: {exc}") from exc
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise BenchError(f"{host!r} is not a loopback address; the benchmarks only load this machine")
    return host, parts.port or 80


class Connection:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def open(self) -> None:
        """Connects now rather than at the first request (a no-op when open)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, target: Target, path: str) -> tuple[int, int]:
        """Sends one request and reads the whole response; returns (status, body length)."""
        await self.open()
        assert self.reader is not None and self.writer is not None
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal goes in brackets
        head = [f"{target.method} {path} HTTP/1.1", f"Host: {host}:{self.port}", "User-Agent: agora-bench"]
        head += [f"{k}: {v}" for k, v in target.headers]
        if target.body:
            head.append(f"Content-Length: {len(target.body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + target.body)
        status, length, keep_alive = await self._read_response(self.reader, head_only=target.method == "HEAD")
        if not keep_alive:
            await self.close()
        return status, length

    @staticmethod
    async def _read_response(reader: asyncio.StreamReader, *, head_only: bool) -> tuple[int, int, bool]:
        raw = await reader.readuntil(b"\r\n\r\n")
        if len(raw) > MAX_HEADER_BYTES:
            raise BenchError("response headers too large")
        lines = raw.decode("latin-1").split("\r\n")
        version, status_text = lines[0].split(" ", 2)[:2]
        status = int(status_text)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status, 0, keep_alive
        if "chunked" in headers.get("transfer-encoding", "").lower():
            total = 0
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return status, total, keep_alive
                total += size
                if total > MAX_BODY_BYTES:
                    raise BenchError("response body too large")
                await reader.readexactly(size + 2)
        if "content-length" in headers:
            length = int(headers["content-length"])
            if length > MAX_BODY_BYTES:
                raise BenchError("response body too large")
            await reader.readexactly(length)
            return status, length, keep_alive
        # No length: the body ends when the server closes the connection.
        body = await reader.read(MAX_BODY_BYTES)
        return status, len(body), False


async def _client(
    conn: Connection,
    target: Target,
    paths: Iterator[str],
    deadline: float,
    budget: list[int],
    settings: Settings,
    result: Result | None,
    delay: float = 0.0,
) -> None:
    await asyncio.sleep(delay)
    while time.perf_counter() < deadline and budget[0] > 0:
        budget[0] -= 1
        path = next(paths)
        started = time.perf_counter()
        try:
            status, length = await asyncio.wait_for(conn.request(target, path), settings.timeout)
        except TimeoutError:  # before OSError, of which it is a subclass
            failure, detail = "timeout", f"{path}: no answer in {settings.timeout:g} s"
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, BenchError, ValueError) as exc:
            failure, detail = type(exc).__name__, f"{path}: {exc!r}"
        else:
            failure, detail = "", ""
        took = (time.perf_counter() - started) * 1000
        if failure:
            await conn.close()
        if result is None:
            continue
        result.latencies_ms.append(took)
        if failure:
            result.failures[failure] += 1
            result.sample_error = result.sample_error or detail
        else:
            result.statuses[status] += 1
            result.body_bytes += length
            if not 200 <= status < 300 and not result.sample_error:
                result.sample_error = f"{path}: HTTP {status}"


async def run_target(base_url: str, target: Target, settings: Settings, server_pgid: int | None = None) -> Result:
    """Warms up, then loads one target with ``settings.concurrency`` clients until the time or count is spent.

    The clients join one after the other during the warm-up and keep their connections for the
    measured part: when all connect at once, the first uvicorn worker to wake up accepts nearly
    all of them and the other workers idle, which would measure one process, not the server.
    """
    host, port = check_loopback(base_url)
    paths = itertools.cycle(target.paths)
    conns = [Connection(host, port) for _ in range(settings.concurrency)]
    try:
        if settings.warmup > 0:
            stagger = min(0.005, settings.warmup / 2 / settings.concurrency)
            deadline = time.perf_counter() + settings.warmup
            budget = [settings.max_requests]
            await asyncio.gather(
                *(_client(c, target, paths, deadline, budget, settings, None, i * stagger) for i, c in enumerate(conns))
            )
        result = Result(target=target)
        usage_before = cpu.snapshot(server_pgid)
        cpu_before, started = time.process_time(), time.perf_counter()
        deadline = started + settings.duration
        budget = [settings.max_requests]
        await asyncio.gather(*(_client(c, target, paths, deadline, budget, settings, result) for c in conns))
        result.elapsed = time.perf_counter() - started
        result.client_cpu = time.process_time() - cpu_before
        usage_after = cpu.snapshot(server_pgid)
    finally:
        for conn in conns:
            await conn.close()
    result.machine_busy, server_cores, result.store_cores = cpu.usage(usage_before, usage_after)
    if server_pgid is not None:
        result.server_cores = server_cores
        result.busiest_process = cpu.busiest_share(usage_before, usage_after)
    return result


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop  # a faster loop leaves more of the 2 cores to the server under test
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_targets(
    base_url: str,
    targets: Sequence[Target],
    settings: Settings,
    *,
    server_pgid: int | None = None,
    progress: bool = True,
) -> list[Result]:
    """Runs the targets one after the other; ``server_pgid`` (the server's process group) lets
    each row say how many cores the server itself used."""
    check_loopback(base_url)
    results: list[Result] = []
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        for target in targets:
            if progress:
                print(f"  {target.name:<44} ", end="", flush=True)
            result = runner.run(run_target(base_url, target, settings, server_pgid))
            if progress:
                p95 = result.percentile(95)
                print(f"{result.rps:8.0f} req/s  p95 {p95:7.1f} ms  errors {result.errors}", flush=True)
            results.append(result)
    return results


def _ms(value: float) -> str:
    return "–" if value != value else f"{value:.1f}"  # NaN when nothing was measured


def _cores(value: float) -> str:
    return "–" if value != value else f"{value:.2f}"


def _share(value: float) -> str:
    return "–" if value != value else f"{value:.0%}"


def markdown_table(results: Sequence[Result]) -> str:
    """One row per target. "CPU ms/req" (server CPU time per request) hardly moves when other work
    shares the machine, unlike req/s and latencies: compare it first between runs."""
    rows = [
        "| Endpoint | req/s | p50 ms | p95 ms | p99 ms | Requests | Errors | KB/resp | CPU ms/req | Server cores "
        "| DB+cache cores | Machine busy | Note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        kb = r.body_bytes / max(1, sum(r.statuses.values())) / 1024
        per_request = r.server_cores * r.elapsed / r.requests * 1000 if r.requests else float("nan")
        rows.append(
            f"| `{r.target.name}` | {r.rps:.0f} | {_ms(r.percentile(50))} | {_ms(r.percentile(95))} "
            f"| {_ms(r.percentile(99))} | {r.requests} | {r.errors} | {kb:.1f} | {_ms(per_request)} "
            f"| {_cores(r.server_cores)} | {_cores(r.store_cores)} | {_share(r.machine_busy)} | {r.target.note} |"
        )
    notes = [f"- `{r.target.name}`: {r.error_summary()} (first: {r.sample_error})" for r in results if r.errors]
    notes += [
        f"- `{r.target.name}`: one server process did {r.busiest_process:.0%} of the server's work: "
        "the workers were not evenly loaded"
        for r in results
        if r.busiest_process > UNEVEN_SHARE
    ]
    return "\n".join(rows + (["", *notes] if notes else []))
