"""`manage.py seed_social`: a large, deterministic social graph for the feed benchmark (bench/scenarios/feed.py).

    manage.py seed_social --users 10000 --posts 500000 --follows-per-user 50 --seed 1

People (5 % private), shops with a few products, follows of people and shops, posts over the last days (some as
shops, some reposts, some with hashtags or a product tag), likes (most of them recent, for trending), and the
denormalised counters. Two accounts are made for the benchmark: ``feedreader`` follows ``--reader-follows``
accounts, and ``feedstar`` is followed by ``--star-followers`` people. Every seeded account signs in with the
password ``agora-seed``.

Rows are written in bulk, never through the services (no signals, no notifications, no Redis): on PostgreSQL with
COPY (500,000 posts in about a minute on 2 cores), elsewhere with batched INSERTs. It adds to whatever the
database holds; ``--if-empty`` does nothing when ``feedreader`` already exists.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from agora.accounts.models import User
from agora.catalog.models import Category, Product, ProductStatus, Variant
from agora.shops.models import Membership, Role, Shop
from agora.social.models import Follow, Hashtag, Like, Post, PostHashtag, ProductTag

PASSWORD = "agora-seed"  # noqa: S105  (documented: a benchmark database, never production)
READER = "feedreader"
STAR = "feedstar"
PREFIX = "seed"
BATCH = 5000
HASHTAGS = 300
VOCABULARY = (
    "linen summer handmade ceramic vintage cozy minimal bold gift sale new drop restock colour style weekend "
    "studio garden travel coffee denim leather wool silver gold print poster lamp chair table mug bag shoes"
)
WORDS = VOCABULARY.split()


class Progress:
    """One line per stage with counts and time, redrawn in place on a terminal."""

    def __init__(self, write: Callable[[str], None], tty: bool, enabled: bool) -> None:
        self.write, self.tty, self.enabled = write, tty, enabled
        self.started = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        line = f"{stage:<12} {done:>9,}/{total:,}  {elapsed:6.1f} s"
        if self.tty:
            self.write("\r" + line + ("\n" if done >= total else ""))
        elif done >= total or done % max(1, total // 4) < BATCH:
            self.write(line + "\n")


class Writer:
    """Bulk rows into a model's table: every concrete column, the ones not given filled with the field defaults."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.postgres = connection.vendor == "postgresql"

    def write(
        self, model: type[models.Model], given: Sequence[str], rows: Iterable[Sequence[Any]], *, stage: str, total: int
    ) -> int:
        fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.name not in given)]
        names = [f.name for f in fields]
        missing = [f for f in fields if f.name not in given]
        defaults = [f.get_db_prep_save(f.get_default(), connection) for f in missing]
        order = [given.index(f.name) if f.name in given else None for f in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        table = connection.ops.quote_name(model._meta.db_table)
        fill = dict(zip((f.name for f in missing), defaults, strict=True))
        done = 0

        def full(row: Sequence[Any]) -> list[Any]:
            return [row[i] if i is not None else fill[name] for i, name in zip(order, names, strict=True)]

        with connection.cursor() as cursor:
            if self.postgres:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(full(row))
                        done += 1
                        if done % BATCH == 0:
                            self.progress(stage, done, total)
            else:
                # Table and column names come from the model, never from input.
                sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
                for chunk in _chunks(rows, BATCH):
                    cursor.executemany(sql, [full(row) for row in chunk])
                    done += len(chunk)
                    self.progress(stage, done, total)
        if self.postgres or done == 0:
            self.progress(stage, done, done)  # the last line (batched INSERTs already drew it)
        return done


def _chunks(rows: Iterable[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    chunk: list[Sequence[Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _next_id(model: type[models.Model]) -> int:
    return int(model._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1


def _reset_sequences(*models_: type[models.Model]) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite's AUTOINCREMENT follows the largest id written
    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))",  # noqa: S608
                [table],
            )


class Command(BaseCommand):
    help = "Seed a large social graph (people, shops, follows, posts, likes) for the feed benchmark."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10_000, help="People to create (default 10000).")
        parser.add_argument("--posts", type=int, default=500_000, help="Posts to create (default 500000).")
        parser.add_argument("--follows-per-user", type=int, default=50, help="Accounts each person follows.")
        parser.add_argument("--shops", type=int, default=100, help="Shops (each with a few products).")
        parser.add_argument("--products-per-shop", type=int, default=5)
        parser.add_argument("--likes", type=int, default=None, help="Likes (default: a fifth of --posts).")
        parser.add_argument("--days", type=int, default=60, help="Posts spread over this many days up to now.")
        parser.add_argument("--reader-follows", type=int, default=500, help=f"Accounts '{READER}' follows.")
        parser.add_argument(
            "--star-followers", type=int, default=10_000, help=f"People following '{STAR}' (at most --users)."
        )
        parser.add_argument("--seed", type=int, default=1, help="Random seed; the same seed gives the same data.")
        parser.add_argument("--if-empty", action="store_true", help=f"Do nothing if '{READER}' already exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        users, posts, per_user = options["users"], options["posts"], options["follows_per_user"]
        exists = User.objects.filter(username__iexact=READER).exists()
        if exists and options["if_empty"]:
            self.stdout.write(f"social seed already loaded ('{READER}' exists)")
            return
        if exists:
            raise CommandError(f"'{READER}' already exists: use --if-empty, or a fresh database.")
        shops, per_shop = options["shops"], options["products_per_shop"]
        if not 10 <= users <= 1_000_000:
            raise CommandError("--users must be between 10 and 1000000.")
        if not 0 <= posts <= 20_000_000:
            raise CommandError("--posts must be between 0 and 20000000.")
        if not 0 <= per_user < users:
            raise CommandError("--follows-per-user must be between 0 and --users - 1.")
        if not 1 <= shops <= 10_000 or not 1 <= per_shop <= 100:
            raise CommandError("--shops must be 1..10000 and --products-per-shop 1..100.")
        if options["reader_follows"] > users + shops:
            raise CommandError("--reader-follows cannot exceed --users + --shops.")
        self.stderr.style_func = None

        def write(text: str) -> None:
            self.stderr.write(text, ending="")
            self.stderr.flush()

        progress = Progress(write, self.stderr.isatty(), options["verbosity"] > 0)
        started = time.perf_counter()
        seeder = Seeder(random.Random(options["seed"]), Writer(progress), progress, options)
        with transaction.atomic():
            counts = seeder.run()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        elapsed = time.perf_counter() - started
        summary = ", ".join(f"{n:,} {what}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Social seed loaded in {elapsed:.1f} s: {summary}."))
        self.stdout.write(
            f"  {READER} follows {options['reader_follows']} accounts; {STAR} has "
            f"{min(options['star_followers'], users)} followers; password for every seeded account: {PASSWORD}"
        )


class Seeder:
    def __init__(self, rng: random.Random, writer: Writer, progress: Progress, options: dict[str, Any]) -> None:
        self.rng, self.writer, self.progress, self.o = rng, writer, progress, options
        self.now = timezone.now()
        self.counts: dict[str, int] = {}

    def run(self) -> dict[str, int]:
        self.people()
        self.shops()
        self.follows()
        self.posts()
        self.likes()
        self.counters()
        _reset_sequences(
            User,
            Shop,
            Membership,
            Category,
            Product,
            Variant,
            Follow,
            Post,
            Hashtag,
            PostHashtag,
            ProductTag,
            Like,
        )
        return self.counts

    # --- people and shops --------------------------------------------------------------
    def people(self) -> None:
        n = self.o["users"]
        first = _next_id(User)
        password = make_password(PASSWORD)
        run = f"{self.o['seed']}x{first}"  # usernames stay unique if the command runs twice on one database
        names = [READER, STAR] + [f"{PREFIX}{run}u{i}" for i in range(n)]
        self.reader_id, self.star_id = first, first + 1
        self.user_ids = list(range(first + 2, first + 2 + n))
        private = {uid for uid in self.user_ids if self.rng.random() < 0.05}
        self.public_ids = [uid for uid in self.user_ids if uid not in private]
        joined = self.now - dt.timedelta(days=self.o["days"] + 30)
        rows = (
            (first + i, password, name, f"{name}@seed.agora.local", name.title(), first + i in private, joined, True)
            for i, name in enumerate(names)
        )
        given = ("id", "password", "username", "email", "display_name", "is_private", "date_joined", "is_active")
        self.counts["people"] = self.writer.write(User, given, rows, stage="people", total=len(names))

    def shops(self) -> None:
        n, per_shop = self.o["shops"], self.o["products_per_shop"]
        first = _next_id(Shop)
        run = f"{self.o['seed']}x{first}"
        self.shop_ids = list(range(first, first + n))
        self.shop_owner = {sid: self.rng.choice(self.public_ids) for sid in self.shop_ids}
        rows = (
            (sid, f"Seed shop {sid}", f"{PREFIX}-{run}-shop-{sid}", "EUR", "LV", True, self.now, self.now)
            for sid in self.shop_ids
        )
        given = ("id", "name", "slug", "currency", "country", "is_active", "created_at", "updated_at")
        self.counts["shops"] = self.writer.write(Shop, given, rows, stage="shops", total=n)
        first_m = _next_id(Membership)
        self.writer.write(
            Membership,
            ("id", "shop", "user", "role", "created_at"),
            ((first_m + i, sid, self.shop_owner[sid], Role.OWNER, self.now) for i, sid in enumerate(self.shop_ids)),
            stage="staff",
            total=n,
        )
        categories = list(Category.objects.values_list("pk", flat=True))
        if not categories:
            first_c = _next_id(Category)
            self.writer.write(
                Category,
                ("id", "name", "slug", "position"),
                ((first_c + i, f"Seed category {i}", f"{PREFIX}-{run}-cat-{i}", i) for i in range(8)),
                stage="categories",
                total=8,
            )
            categories = list(range(first_c, first_c + 8))
        first_p, first_v = _next_id(Product), _next_id(Variant)
        self.products_of: dict[int, list[int]] = {}
        product_rows: list[tuple[Any, ...]] = []
        variant_rows: list[tuple[Any, ...]] = []
        for index, sid in enumerate(self.shop_ids):
            ids = [first_p + index * per_shop + k for k in range(per_shop)]
            self.products_of[sid] = ids
            for pid in ids:
                product_rows.append(
                    (
                        pid,
                        sid,
                        f"Seed product {pid}",
                        f"product-{pid}",
                        self.rng.choice(categories),
                        ProductStatus.PUBLISHED,
                        self.now,
                        self.now,
                        self.now,
                    )
                )
                variant_rows.append(
                    (
                        first_v + len(variant_rows),
                        pid,
                        sid,
                        f"SEED-{pid}",
                        "Default",
                        Decimal(self.rng.randrange(500, 9000)) / 100,
                        100,
                        self.now,
                        self.now,
                    )
                )
        self.product_ids = [row[0] for row in product_rows]
        self.counts["products"] = self.writer.write(
            Product,
            ("id", "shop", "title", "slug", "category", "status", "published_at", "created_at", "updated_at"),
            product_rows,
            stage="products",
            total=len(product_rows),
        )
        self.writer.write(
            Variant,
            ("id", "product", "shop", "sku", "name", "price", "stock_quantity", "created_at", "updated_at"),
            variant_rows,
            stage="variants",
            total=len(variant_rows),
        )

    # --- follows ------------------------------------------------------------------------
    def follows(self) -> None:
        per_user = self.o["follows_per_user"]
        rng = self.rng
        pairs: set[tuple[int, int, bool]] = set()  # (follower, target, is_shop)
        for follower in self.user_ids:
            want = per_user
            while want > 0:
                if rng.random() < 0.1:
                    pair = (follower, rng.choice(self.shop_ids), True)
                else:
                    target = rng.choice(self.user_ids)
                    if target == follower:
                        continue
                    pair = (follower, target, False)
                if pair not in pairs:
                    pairs.add(pair)
                    want -= 1
        # The benchmark's reader follows the most active people and some shops; the star is followed by everyone.
        reader_targets = rng.sample(self.public_ids, min(len(self.public_ids), self.o["reader_follows"] * 9 // 10))
        reader_shops = rng.sample(
            self.shop_ids, min(len(self.shop_ids), self.o["reader_follows"] - len(reader_targets))
        )
        pairs.update((self.reader_id, t, False) for t in reader_targets)
        pairs.update((self.reader_id, s, True) for s in reader_shops)
        for follower in rng.sample(self.user_ids, min(len(self.user_ids), self.o["star_followers"])):
            pairs.add((follower, self.star_id, False))
        first = _next_id(Follow)
        since = self.now - dt.timedelta(days=self.o["days"] + 1)
        rows = (
            (first + i, follower, None if is_shop else target, target if is_shop else None, since)
            for i, (follower, target, is_shop) in enumerate(sorted(pairs))
        )
        self.counts["follows"] = self.writer.write(
            Follow,
            ("id", "follower", "target_user", "target_shop", "created_at"),
            rows,
            stage="follows",
            total=len(pairs),
        )

    # --- posts --------------------------------------------------------------------------
    def posts(self) -> None:
        n = self.o["posts"]
        rng = self.rng
        first = _next_id(Post)
        span = dt.timedelta(days=self.o["days"]).total_seconds()
        # Sorted times, so ids grow with created_at as they do in service.
        offsets = sorted(rng.random() * span for _ in range(n))
        start = self.now - dt.timedelta(days=self.o["days"])
        # Some people post far more than others (a long tail), as on any network.
        authors = [*self.user_ids, self.star_id]
        weights = [rng.paretovariate(1.5) for _ in authors]
        chosen_authors = rng.choices(authors, weights=weights, k=n)
        first_tag = _next_id(Hashtag)
        self.tag_ids = list(range(first_tag, first_tag + HASHTAGS))
        self.writer.write(
            Hashtag,
            ("id", "name", "created_at"),
            ((tid, f"{rng.choice(WORDS)}{tid}", start) for tid in self.tag_ids),
            stage="hashtags",
            total=HASHTAGS,
        )
        self.post_times: list[dt.datetime] = []
        self.repostable: list[int] = []
        hashtag_rows: list[tuple[int, int, dt.datetime]] = []
        tag_rows: list[tuple[int, int]] = []
        reposted: set[tuple[int, int]] = set()
        public = set(self.public_ids) | {self.star_id}

        def rows() -> Iterator[tuple[Any, ...]]:
            for i in range(n):
                pid = first + i
                at = start + dt.timedelta(seconds=offsets[i])
                self.post_times.append(at)
                author, shop = chosen_authors[i], None
                if rng.random() < 0.08:
                    shop = rng.choice(self.shop_ids)
                    author = self.shop_owner[shop]
                repost_of = None
                if shop is None and self.repostable and rng.random() < 0.03:
                    candidate = self.repostable[-rng.randrange(1, min(len(self.repostable), 5000) + 1)]
                    if (author, candidate) not in reposted:
                        reposted.add((author, candidate))
                        repost_of = candidate
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(4, 14)))
                if repost_of is None and rng.random() < 0.3:
                    tid = rng.choice(self.tag_ids)
                    hashtag_rows.append((pid, tid, at))
                if repost_of is None and ((shop is not None and rng.random() < 0.5) or rng.random() < 0.03):
                    products = self.products_of[shop] if shop is not None else self.product_ids
                    tag_rows.append((pid, rng.choice(products)))
                if repost_of is None and (shop is not None or author in public):
                    self.repostable.append(pid)
                yield (pid, author, shop, words, repost_of, at)

        self.first_post = first
        self.counts["posts"] = self.writer.write(
            Post, ("id", "author", "shop", "text", "repost_of", "created_at"), rows(), stage="posts", total=n
        )
        first_ph = _next_id(PostHashtag)
        self.writer.write(
            PostHashtag,
            ("id", "post", "hashtag", "created_at"),
            ((first_ph + i, pid, tid, at) for i, (pid, tid, at) in enumerate(hashtag_rows)),
            stage="post tags",
            total=len(hashtag_rows),
        )
        first_pt = _next_id(ProductTag)
        self.counts["product tags"] = self.writer.write(
            ProductTag,
            ("id", "post", "product", "position"),
            ((first_pt + i, pid, product, 0) for i, (pid, product) in enumerate(tag_rows)),
            stage="shoppable",
            total=len(tag_rows),
        )

    def likes(self) -> None:
        n = self.o["likes"] if self.o["likes"] is not None else self.o["posts"] // 5
        if n == 0 or not self.post_times:
            return
        rng = self.rng
        total_posts = len(self.post_times)
        # Most likes go to the newest posts (what trending is about), the rest anywhere.
        recent = max(1, sum(1 for t in self.post_times if t >= self.now - dt.timedelta(days=3)))
        seen: set[tuple[int, int]] = set()
        first = _next_id(Like)

        def rows() -> Iterator[tuple[Any, ...]]:
            made = 0
            while made < n:
                index = (
                    total_posts - 1 - int(rng.random() ** 2 * recent)
                    if rng.random() < 0.8
                    else rng.randrange(total_posts)
                )
                pid = self.first_post + index
                user = rng.choice(self.user_ids)
                if (user, pid) in seen:
                    continue
                seen.add((user, pid))
                at = min(self.now, self.post_times[index] + dt.timedelta(minutes=rng.randrange(1, 600)))
                yield (first + made, user, pid, at)
                made += 1

        self.counts["likes"] = self.writer.write(
            Like, ("id", "user", "post", "created_at"), rows(), stage="likes", total=n
        )

    # --- counters -----------------------------------------------------------------------
    def counters(self) -> None:
        """The denormalised counters the services keep, computed once in SQL (grouped, not per row) for the seed."""
        low, high = self.reader_id, self.user_ids[-1]
        first, last = self.first_post, self.first_post + self.counts.get("posts", 0)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE")  # the planner has seen none of these rows yet
            cursor.execute(
                "INSERT INTO social_userstats (user_id, followers_count, following_count, posts_count) "
                "SELECT u.id, COALESCE(fr.n, 0), COALESCE(fg.n, 0), COALESCE(p.n, 0) FROM accounts_user u "
                "LEFT JOIN (SELECT target_user_id AS id, COUNT(*) AS n FROM social_follow "
                "  WHERE target_user_id BETWEEN %s AND %s GROUP BY target_user_id) fr ON fr.id = u.id "
                "LEFT JOIN (SELECT follower_id AS id, COUNT(*) AS n FROM social_follow "
                "  WHERE follower_id BETWEEN %s AND %s GROUP BY follower_id) fg ON fg.id = u.id "
                "LEFT JOIN (SELECT author_id AS id, COUNT(*) AS n FROM social_post "
                "  WHERE shop_id IS NULL AND id >= %s AND id < %s GROUP BY author_id) p ON p.id = u.id "
                "WHERE u.id BETWEEN %s AND %s",
                [low, high, low, high, first, last, low, high],
            )
            cursor.execute(
                "INSERT INTO social_shopstats (shop_id, followers_count, posts_count) "
                "SELECT s.id, COALESCE(fr.n, 0), COALESCE(p.n, 0) FROM shops_shop s "
                "LEFT JOIN (SELECT target_shop_id AS id, COUNT(*) AS n FROM social_follow "
                "  WHERE target_shop_id IS NOT NULL GROUP BY target_shop_id) fr ON fr.id = s.id "
                "LEFT JOIN (SELECT shop_id AS id, COUNT(*) AS n FROM social_post "
                "  WHERE shop_id IS NOT NULL AND id >= %s AND id < %s GROUP BY shop_id) p ON p.id = s.id "
                "WHERE s.id BETWEEN %s AND %s",
                [first, last, self.shop_ids[0], self.shop_ids[-1]],
            )
            cursor.execute(
                "UPDATE social_post SET likes_count = counted.n FROM (SELECT post_id, COUNT(*) AS n FROM social_like "
                "  WHERE post_id >= %s AND post_id < %s GROUP BY post_id) counted "
                "WHERE social_post.id = counted.post_id",
                [first, last],
            )
            cursor.execute(
                "UPDATE social_post SET reposts_count = counted.n FROM (SELECT repost_of_id, COUNT(*) AS n "
                "  FROM social_post WHERE repost_of_id >= %s AND repost_of_id < %s GROUP BY repost_of_id) counted "
                "WHERE social_post.id = counted.repost_of_id",
                [first, last],
            )
        self.progress("counters", 1, 1)
