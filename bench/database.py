"""Fresh benchmark databases, and a cache of seeded ones so that a second run skips the seeding.

Loading the demo data (2,000 products with generated photos) takes minutes on 2 cores, far longer
than the load itself. After the first run the seeded PostgreSQL database is kept as a template
(``<name>_seed_<key>``) and each later run starts from a copy of it; SQLite files are copied the
same way. The key (computed by bench/run.sh) covers the data sizes, the seed, the migrations and
the code that writes the data, so any change there seeds again.

    python -m bench.database postgres-fresh ADMIN_URL NAME KEY   # prints "seeded" or "empty"; KEY "-": empty
    python -m bench.database postgres-save ADMIN_URL NAME KEY
    python -m bench.database sqlite-checkpoint PATH
    python -m bench.database analyze      # the database of DATABASE_URL, through Django
"""

from __future__ import annotations

import re
import sqlite3
import sys
from contextlib import closing

import psycopg
from psycopg import sql

NAME_RE = re.compile(r"[a-z_][a-z0-9_]{0,40}")


def _check(name: str, key: str) -> str:
    if not NAME_RE.fullmatch(name) or not re.fullmatch(r"[0-9a-f]{8,16}|-", key):
        raise SystemExit(f"bad database name or key: {name!r} {key!r}")
    return f"{name}_seed_{key}"


def _databases(conn: psycopg.Connection, pattern: str) -> list[str]:
    rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [pattern]).fetchall()
    return [row[0] for row in rows]


def postgres_fresh(admin_url: str, name: str, key: str) -> str:
    """Drops ``name`` and creates it again, from the seeded template when there is one (``key`` "-": never)."""
    template = _check(name, key)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if key != "-" and _databases(conn, template):
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
            return "seeded"
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return "empty"


def postgres_save(admin_url: str, name: str, key: str) -> None:
    """Keeps the freshly seeded ``name`` as the template of later runs, and only that one."""
    template = _check(name, key)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for old in _databases(conn, f"{name}_seed_%"):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(old)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(template), sql.Identifier(name)))


def sqlite_checkpoint(path: str) -> None:
    """Moves everything from the write-ahead log into the database file, so that the file alone is a copy."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def analyze() -> None:
    """Fresh planner statistics, as autovacuum gives a database in service: without them PostgreSQL
    plans a freshly seeded catalogue as if it had a handful of rows."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agora.settings")
    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main(argv: list[str]) -> int:
    match argv:
        case ["postgres-fresh", admin_url, name, key]:
            print(postgres_fresh(admin_url, name, key))
        case ["postgres-save", admin_url, name, key]:
            postgres_save(admin_url, name, key)
        case ["sqlite-checkpoint", path]:
            sqlite_checkpoint(path)
        case ["analyze"]:
            analyze()
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
