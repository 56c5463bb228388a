"""Agora's benchmarks: `make bench` (bench/run.sh) seeds a database, starts the production ASGI
server and loads it with the scenarios of ``bench/scenarios/``. See bench/README.md."""
