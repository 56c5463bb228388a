"""Runs benchmark scenarios against a running Agora server and writes the figures as Markdown.

    python -m bench http://127.0.0.1:PORT --scenarios catalog --label "PostgreSQL + Redis"

It reads the same environment as the server (DATABASE_URL, REDIS_URL) because each scenario first
plans its requests from the data (see bench/scenarios/__init__.py). bench/run.sh calls it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from types import ModuleType

from bench import cpu
from bench.loadgen import BenchError, Result, Settings, check_loopback, markdown_table, run_targets

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_NOTE = " With SQLite the database works inside the server processes: its time is in CPU ms/req."


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return "unknown RAM"


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty.strip() else ''}"


def _stores() -> str:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    elif connection.vendor == "sqlite":
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version}"
    else:
        database = connection.vendor
    if not settings.REDIS_URL:
        return f"{database}, in-process cache"
    try:
        import redis

        version = redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    except Exception:  # the version is decoration; the run must not die for it
        version = "?"
    return f"{database}, Redis {version} cache"


def _scenario(name: str) -> ModuleType:
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise BenchError(f"bad scenario name {name!r}")
    try:
        return importlib.import_module(f"bench.scenarios.{name}")
    except ModuleNotFoundError as exc:
        raise BenchError(f"no scenario {name!r} in bench/scenarios/ (BENCH_SCENARIOS)") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "base_url", nargs="?", default="", help="the server under test, e.g. http://127.0.0.1:8123 (loopback only)"
    )
    parser.add_argument("--scenarios", default="catalog", help="comma-separated modules of bench/scenarios/")
    parser.add_argument("--label", default="", help="what is measured, e.g. 'PostgreSQL + Redis'")
    parser.add_argument("--server", default="", help="how the server runs, for the report")
    parser.add_argument("--server-pgid", type=int, help="the server's process group, to count its CPU time")
    parser.add_argument("--out-dir", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--check", action="store_true", help="only check the settings and scenario names")
    args = parser.parse_args(argv)

    names = [name.strip() for name in args.scenarios.split(",") if name.strip()]
    try:
        settings = Settings.from_env()
        modules = [_scenario(name) for name in names]
        if args.check:
            return 0
        check_loopback(args.base_url)
    except (BenchError, ValueError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agora.settings")
    import django

    django.setup()
    from django.db import connection, connections

    plans = [module.plan() for module in modules]
    stores = _stores()
    embedded = connection.vendor == "sqlite"
    # The load generator holds no database connection while the server is being measured.
    connections.close_all()

    background = cpu.background_load()
    started = dt.datetime.now(dt.UTC)
    head = [
        f"# Agora benchmarks — {args.label or stores}",
        "",
        f"- When: {started:%Y-%m-%d %H:%M} UTC, commit {_commit()}",
        f"- Machine: {os.cpu_count()} cores ({_cpu_model()}), {_memory()}, {platform.system()} {platform.release()}",
        f"- Server: {args.server or 'see bench/run.sh'}; {stores}",
        f"- Software: Python {platform.python_version()}, Django {metadata.version('django')}, "
        f"uvicorn {metadata.version('uvicorn')}",
        f"- Load: {settings.concurrency} keep-alive connections, {settings.duration:g} s per row after "
        f"{settings.warmup:g} s of warm-up (at most {settings.max_requests} requests), from bench/loadgen.py "
        "on the same machine",
        f"- Background: {background:.0%} of the machine was busy in the 2 s before the load, with the server idle"
        + (" — other work was running: these figures are lower than this machine can do" if background > 0.1 else ""),
    ]
    sections: list[str] = []
    all_results: list[Result] = []
    for module, plan in zip(modules, plans, strict=True):
        name = module.__name__.rsplit(".", 1)[-1]
        print(f"\nScenario {name}: {module.describe(plan)}", flush=True)
        if hasattr(module, "run"):
            # A scenario with a load shape of its own (flash_sale: bursts of buyers, then checks in the database).
            results = module.run(args.base_url, plan, settings, server_pgid=args.server_pgid)
        else:
            results = run_targets(args.base_url, module.targets(plan), settings, server_pgid=args.server_pgid)
        all_results += results
        client_cpu = sum(r.client_cpu for r in results) / max(1e-9, sum(r.elapsed for r in results))
        sections += [
            "",
            f"## {name}",
            "",
            module.describe(plan),
            "",
            markdown_table(results),
            "",
            "CPU ms/req: CPU time of the uvicorn processes per request (steadier than req/s when other work "
            "shares the machine); Server cores: their CPU use; DB+cache cores: CPU use of the postgres and "
            f"redis-server processes; Machine busy: share of all {os.cpu_count()} cores busy (all of these, the "
            f"load generator, which used {client_cpu:.0%} of one core on average, and anything else)."
            + (EMBEDDED_NOTE if embedded else ""),
        ]
    report = "\n".join(head + sections) + "\n"

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", (args.label or "run").lower()).strip("-")
    (out / f"{started:%Y%m%d-%H%M%S}-{slug}.md").write_text(report)
    (out / "latest.md").write_text(report)
    print("\n" + report)
    print(f"Written to {out / 'latest.md'}")

    failed = [r for r in all_results if r.errors]
    if failed:
        print(
            f"bench: {len(failed)} row(s) had failed requests; their figures are not to be trusted: "
            + ", ".join(r.target.name for r in failed),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
