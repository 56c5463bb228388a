"""Flash sale over HTTP: N signed-in buyers (200 by default) check out the same hot variant at the same moment,
with K units in stock (50), through ``POST /api/v1/checkout`` (sandbox payment, Idempotency-Key) on the real
server; and the same burst against ``/healthz``, the framework's ceiling, in the same run.

Unlike the other scenarios this one has its own load shape (``run``): per round, every buyer holds one
keep-alive connection, opened and warmed beforehand, and all of them send their one checkout attempt when a
gate opens. After each round the database is checked: sold units must equal K, oversold units must be 0,
the stock must be 0, every sold unit paid by a captured payment and no payment captured for a refused
attempt. A broken promise is counted as a failed request, which makes ``make bench`` exit with 1.

    BENCH_SCENARIOS=flash_sale make bench
    BENCH_FLASH_BUYERS=200 BENCH_FLASH_UNITS=50 BENCH_FLASH_ROUNDS=3   # the defaults

Each round uses a fresh product (so earlier rounds' orders do not count) and refills every buyer's cart
with one unit of it; buyers, tokens, the shop and its delivery zone are made once by ``plan``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from bench import cpu
from bench.loadgen import BenchError, Connection, Result, Settings, Target, _new_loop, check_loopback

SHOP_SLUG = "flash-sale-bench"
PRICE = "9.90"
ADDRESS = {"name": "Flash Buyer", "line1": "1 Sale Street", "city": "Riga", "postcode": "LV-1010", "country": "LV"}
CONNECT_STAGGER = 0.005  # seconds between two buyers connecting, so both workers accept connections


def _knob(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise BenchError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise BenchError(f"{name} must be between {low} and {high}")
    return value


def _sizes() -> tuple[int, int, int]:
    buyers = _knob("BENCH_FLASH_BUYERS", 200, 1, 1000)
    units = _knob("BENCH_FLASH_UNITS", 50, 1, 100_000)
    rounds = _knob("BENCH_FLASH_ROUNDS", 3, 1, 50)
    return buyers, units, rounds


# Read on import, so that `python -m bench --check` (run first by bench/run.sh) refuses bad knobs at once.
SIZES = _sizes()


# --- data (runs inside Django, in the load generator's process, never while a burst is measured) -----------
def plan() -> dict[str, Any]:
    """The shop, its delivery zone, the buyers and their API tokens (made once; reused on a kept database)."""
    from agora.accounts.models import User
    from agora.accounts.services import issue_token
    from agora.shipping import services as shipping
    from agora.shipping.models import DeliveryZone
    from agora.shops import services as shops
    from agora.shops.models import Shop

    buyers, units, rounds = SIZES
    owner, _created = User.objects.get_or_create(
        username="flash-sale-owner", defaults={"email": "flash-sale-owner@bench.invalid"}
    )
    shop = Shop.objects.filter(slug=SHOP_SLUG).first() or shops.create_shop(
        owner=owner, name="Flash Sale Bench", slug=SHOP_SLUG, currency="EUR", country="LV"
    )
    if not DeliveryZone.objects.filter(shop=shop).exists():
        zone = shipping.create_zone(actor=owner, shop=shop, name="Everywhere", everywhere_else=True)
        shipping.add_method(actor=owner, zone=zone, name="Courier", price="0", min_days=1, max_days=2)

    existing = {u.username: u for u in User.objects.filter(username__startswith="flash-buyer-")}
    missing = [
        User(username=f"flash-buyer-{i:04d}", email=f"flash-buyer-{i:04d}@bench.invalid")
        for i in range(buyers)
        if f"flash-buyer-{i:04d}" not in existing
    ]
    for user in missing:
        user.set_unusable_password()  # they only use API tokens; no password hashing for 1,000 buyers
    User.objects.bulk_create(missing)
    users = User.objects.filter(username__in=[f"flash-buyer-{i:04d}" for i in range(buyers)]).order_by("username")
    tokens = [issue_token(user=user, name="flash-sale bench")[1] for user in users]
    return {
        "buyers": buyers,
        "units": units,
        "rounds": rounds,
        "shop_id": shop.pk,
        "owner_id": owner.pk,
        "user_ids": [u.pk for u in users],
        "tokens": tokens,
        "run": uuid.uuid4().hex[:8],
    }


def describe(plan: dict[str, Any]) -> str:
    return (
        f"{plan['buyers']} signed-in buyers (own accounts and API tokens), each with one unit of the same hot "
        f"variant in the cart, all sending `POST /api/v1/checkout` (sandbox card, an Idempotency-Key each) at once "
        f"for K={plan['units']} units in stock; {plan['rounds']} rounds, each on a fresh product. Every buyer holds "
        "one keep-alive connection opened before the gate opens, and makes one attempt: 201 paid, or 409 sold out. "
        "After each round the database is checked (sold = K, oversold = 0, stock 0, one captured payment per sale "
        "and none for a refused attempt). `/healthz` gets the same burst shape, as the ceiling."
    )


def _prepare_round(plan: dict[str, Any], round_no: int) -> int:
    """A fresh published product with K units, and every buyer's cart holding exactly one of it."""
    from agora.accounts.models import User
    from agora.catalog import services as catalog
    from agora.orders import services as orders
    from agora.shops.models import Shop

    owner = User.objects.get(pk=plan["owner_id"])
    shop = Shop.objects.get(pk=plan["shop_id"])
    sku = f"FLASH-{plan['run']}-{round_no}"
    product = catalog.create_product(
        actor=owner,
        shop=shop,
        title=f"Flash deal {plan['run']} #{round_no + 1}",
        variants=[{"sku": sku, "price": PRICE, "stock_quantity": plan["units"]}],
    )
    catalog.publish_product(actor=owner, product=product)
    variant_id = product.variants.get().pk  # type: ignore[attr-defined]
    for user in User.objects.filter(pk__in=plan["user_ids"]):
        cart = orders.get_cart(user=user, create=True)
        assert cart is not None
        orders.clear_cart(cart)
        orders.add_item(cart, variant_id=variant_id, quantity=1)
    return variant_id


@dataclass(frozen=True)
class Check:
    sold: int
    oversold: int
    stock_left: int
    paid_orders: int
    captured_payments: int
    captured_for_refused: int

    def problems(self, units: int) -> list[str]:
        found = []
        if self.sold != units:
            found.append(f"sold {self.sold}, expected {units}")
        if self.oversold:
            found.append(f"oversold {self.oversold}")
        if self.stock_left != units - self.sold or self.stock_left < 0:
            found.append(f"stock left {self.stock_left}")
        if self.captured_payments != self.paid_orders:
            found.append(f"{self.captured_payments} captured payments for {self.paid_orders} paid orders")
        if self.captured_for_refused:
            found.append(f"{self.captured_for_refused} payments captured for refused attempts")
        return found


def _check_round(plan: dict[str, Any], variant_id: int) -> Check:
    from django.db.models import Sum

    from agora.catalog.models import Variant
    from agora.orders.models import Order, OrderLine
    from agora.payments.models import PAID, Payment

    lines = OrderLine.objects.filter(variant_id=variant_id)
    sold = lines.filter(order__status="paid").aggregate(n=Sum("quantity"))["n"] or 0
    orders = Order.objects.filter(pk__in=lines.values("order_id"))
    paid_orders = orders.filter(status="paid").count()
    captured = Payment.objects.filter(status__in=PAID, orders__in=orders.filter(status="paid")).distinct().count()
    refused_checkouts = orders.exclude(status="paid").values("checkout_id")
    captured_refused = Payment.objects.filter(status__in=PAID, checkouts__in=refused_checkouts).count()
    return Check(
        sold=sold,
        oversold=max(0, sold - plan["units"]),
        stock_left=Variant.objects.get(pk=variant_id).stock_quantity,
        paid_orders=paid_orders,
        captured_payments=captured,
        captured_for_refused=captured_refused,
    )


# --- load ---------------------------------------------------------------------------------------------------
@dataclass
class BurstResult(Result):
    """A row whose expected refusals (409 sold out) are answers, not errors."""

    expected: frozenset[int] = frozenset({200})
    broken_promises: list[str] = field(default_factory=list)
    weighted: dict[str, float] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        bad = sum(n for status, n in self.statuses.items() if status not in self.expected)
        return bad + sum(self.failures.values()) + len(self.broken_promises)

    def add_usage(self, wall: float, before: cpu.Snapshot, after: cpu.Snapshot, pgid: int | None) -> None:
        machine, server, stores = cpu.usage(before, after)
        for name, value in (("machine", machine), ("server", server), ("stores", stores)):
            if value == value:  # NaN off Linux
                self.weighted[name] = self.weighted.get(name, 0.0) + value * wall
        self.elapsed += wall
        self.machine_busy = self.weighted.get("machine", float("nan")) / self.elapsed
        self.store_cores = self.weighted.get("stores", float("nan")) / self.elapsed
        if pgid is not None:
            self.server_cores = self.weighted.get("server", float("nan")) / self.elapsed
            self.busiest_process = cpu.busiest_share(before, after)


async def _burst(
    base_url: str, requests: list[Target], settings: Settings, result: BurstResult, pgid: int | None
) -> dict[str, int]:
    """Opens one connection per request (warmed with a GET /healthz), then sends all requests at once."""
    host, port = check_loopback(base_url)
    conns = [Connection(host, port) for _ in requests]
    warm = Target("/healthz", ["/healthz"])
    codes: dict[str, int] = {}
    try:

        async def connect(i: int, conn: Connection) -> None:
            await asyncio.sleep(i * CONNECT_STAGGER)
            await asyncio.wait_for(conn.request(warm, "/healthz"), settings.timeout)

        await asyncio.gather(*(connect(i, c) for i, c in enumerate(conns)))
        gate = asyncio.Event()

        async def attempt(conn: Connection, target: Target) -> None:
            await gate.wait()
            started = time.perf_counter()
            try:
                status, length, body = await asyncio.wait_for(_request(conn, target), settings.timeout)
            except TimeoutError:
                result.failures["timeout"] += 1
                result.sample_error = result.sample_error or f"no answer in {settings.timeout:g} s"
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                return
            except (OSError, asyncio.IncompleteReadError, BenchError, ValueError) as exc:
                result.failures[type(exc).__name__] += 1
                result.sample_error = result.sample_error or repr(exc)
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                return
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.statuses[status] += 1
            result.body_bytes += length
            code = _code(body)
            codes[code] = codes.get(code, 0) + 1
            if status not in result.expected and not result.sample_error:
                result.sample_error = f"HTTP {status} {body[:200]!r}"

        before = cpu.snapshot(pgid)
        tasks = [asyncio.ensure_future(attempt(c, t)) for c, t in zip(conns, requests, strict=True)]
        cpu_before, started = time.process_time(), time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
        result.client_cpu += time.process_time() - cpu_before
        result.add_usage(wall, before, cpu.snapshot(pgid), pgid)
    finally:
        for conn in conns:
            await conn.close()
    return codes


async def _request(conn: Connection, target: Target) -> tuple[int, int, bytes]:
    """One request on a warmed connection, keeping the body (to tell "sold out" from other refusals)."""
    assert conn.writer is not None and conn.reader is not None
    path = target.paths[0]
    head = [f"{target.method} {path} HTTP/1.1", f"Host: {conn.host}:{conn.port}", "User-Agent: agora-bench"]
    head += [f"{k}: {v}" for k, v in target.headers]
    if target.body:
        head.append(f"Content-Length: {len(target.body)}")
    conn.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + target.body)
    raw = await conn.reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if ":" in line)}
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise BenchError("unexpected chunked response")
    body = await conn.reader.readexactly(int(headers.get("content-length", "0")))
    return status, len(body), body


def _code(body: bytes) -> str:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return "not JSON"
    if isinstance(data, dict):
        return str(data.get("code") or data.get("status") or "ok")
    return "ok"


def _checkout_targets(plan: dict[str, Any], round_no: int) -> list[Target]:
    body = json.dumps({"address": ADDRESS, "payment_method": "sandbox_card"}).encode()
    return [
        Target(
            "POST /api/v1/checkout",
            ["/api/v1/checkout"],
            method="POST",
            body=body,
            headers=(
                ("Authorization", f"Bearer {token}"),
                ("Content-Type", "application/json"),
                ("Idempotency-Key", f"flash-{plan['run']}-{round_no}-{i}"),
            ),
        )
        for i, token in enumerate(plan["tokens"])
    ]


def run(base_url: str, plan: dict[str, Any], settings: Settings, *, server_pgid: int | None = None) -> list[Result]:
    from django.db import connections

    buyers, units, rounds = plan["buyers"], plan["units"], plan["rounds"]
    flash = BurstResult(
        target=Target("POST /api/v1/checkout (flash sale)", ["/api/v1/checkout"], method="POST"),
        expected=frozenset({201, 409}),
    )
    ceiling = BurstResult(target=Target("/healthz (same burst)", ["/healthz"]), expected=frozenset({200}))
    outcome: dict[str, int] = {}
    checks: list[Check] = []
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        for round_no in range(rounds):
            variant_id = _prepare_round(plan, round_no)
            connections.close_all()  # the load generator holds no connection while the server is measured
            print(f"  round {round_no + 1}/{rounds}: {buyers} buyers, {units} units ... ", end="", flush=True)
            codes = runner.run(_burst(base_url, _checkout_targets(plan, round_no), settings, flash, server_pgid))
            for code, n in codes.items():
                outcome[code] = outcome.get(code, 0) + n
            check = _check_round(plan, variant_id)
            checks.append(check)
            flash.broken_promises += [f"round {round_no + 1}: {p}" for p in check.problems(units)]
            print(f"sold {check.sold}, oversold {check.oversold}, stock left {check.stock_left}; {codes}", flush=True)
            connections.close_all()
            runner.run(_burst(base_url, [ceiling.target] * buyers, settings, ceiling, server_pgid))
    if flash.broken_promises:
        first = f"{flash.sample_error}; " if flash.sample_error else ""
        flash.sample_error = first + "; ".join(flash.broken_promises)
    sold = sum(c.sold for c in checks)
    oversold = sum(c.oversold for c in checks)
    sold_out = outcome.get("sold_out", 0)
    flash.target = replace(
        flash.target,
        note=f"sold {sold} of {units * rounds} (K={units} × {rounds} rounds), oversold {oversold}, "
        f"{sold_out} told sold out; attempts/s = req/s",
    )
    ceiling.target = replace(ceiling.target, note=f"ceiling: {buyers} at once, no database")
    plan["summary"] = {"sold": sold, "oversold": oversold, "outcomes": outcome}
    return [flash, ceiling]


def targets(plan: dict[str, Any]) -> list[Target]:
    """For tools that only know the Target interface: the checkout request of each buyer (round 0)."""
    return _checkout_targets(plan, 0)
