"""Benchmark scenarios. Each module has ``plan() -> dict`` (runs inside Django before the load:
picks ids and words from the seeded data, may create what the scenario needs) and
``targets(plan) -> list[Target]`` (what the load generator hits). Add a module and list it in
``BENCH_SCENARIOS``."""
