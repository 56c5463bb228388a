"""Team purchases over HTTP: 2,000 signed-in shoppers try to join 500 open teams at the same moment through
``POST /api/v1/teams/{code}/join`` (sandbox card, Idempotency-Key) on the real server, 4 attempts per team for
its 3 free places; and the same burst against ``/healthz``, the framework's ceiling.

Like flash_sale this scenario has its own load shape (``run``): per round a fresh product gets a group deal
(teams of ``BENCH_TEAM_PLACES`` + 1, which complete when full) and ``BENCH_TEAM_TEAMS`` leaders start one team
each through ``groupbuy.services.start_team`` (in-process, sandbox card). Every joiner then holds one keep-alive
connection, opened beforehand (once the server is idle), and all send their one join when a gate opens; the
attempts on one team are sent next to each other, so both server workers race for the same seats. Each gets 201 (joined,
payment authorised) or 409 (``team_closed``: full). After each round the database is checked: no team over
its maximum (``seats_taken`` and holding members <= ``max_members``, seats = holding members), every accepted
member holds exactly one authorised or captured payment, a refused attempt left no authorised payment and no
place, the deal's units = units held. A broken promise counts as a failed request (``make bench`` exits with 1).

    BENCH_SCENARIOS=teams make bench
    BENCH_TEAM_TEAMS=500 BENCH_TEAM_JOINERS=2000 BENCH_TEAM_PLACES=3 BENCH_TEAM_ROUNDS=1   # the defaults

The helpers at the top (``knob``, ``team_shop``) are shared with ``team_expiry``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from bench.loadgen import BenchError, Connection, Result, Settings, Target, _new_loop, check_loopback
from bench.scenarios.flash_sale import BurstResult, _code, _request

SHOP_SLUG = "team-bench"
PRICE = "20.00"
GROUP_PRICE = "15.00"
CARD = "sandbox_card"
ADDRESS = {"name": "Team Buyer", "line1": "1 Team Street", "city": "Riga", "postcode": "LV-1010", "country": "LV"}
CONNECT_AT_ONCE = 100  # connections opened together before a burst
SETTLED_MS = 50.0  # a server answering /healthz this fast three times in a row has finished the previous burst
SETTLE_TIMEOUT = 120.0
MIN_TIMEOUT = 600.0  # seconds: 2,000 joins queue behind each other on 2 cores; a slow answer is a figure, not an error


def knob(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise BenchError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise BenchError(f"{name} must be between {low} and {high}")
    return value


def _sizes() -> tuple[int, int, int, int, int]:
    teams = knob("BENCH_TEAM_TEAMS", 500, 1, 5_000)
    joiners = knob("BENCH_TEAM_JOINERS", 2_000, 1, 5_000)
    places = knob("BENCH_TEAM_PLACES", 3, 1, 49)
    rounds = knob("BENCH_TEAM_ROUNDS", 1, 1, 20)
    # 0: one connection per joiner, all at once (the issue's shape); N: N connections, as many at a time.
    connections = knob("BENCH_TEAM_CONNECTIONS", 0, 0, 5_000)
    return teams, joiners, places, rounds, connections


# Read on import, so that `python -m bench --check` (run first by bench/run.sh) refuses bad knobs at once.
SIZES = _sizes()


def team_shop() -> tuple[Any, Any]:
    """The benchmark's shop (EUR, free delivery everywhere) and its owner; made once, reused on a kept database."""
    from agora.accounts.models import User
    from agora.shipping import services as shipping
    from agora.shipping.models import DeliveryZone
    from agora.shops import services as shops
    from agora.shops.models import Shop

    owner, _created = User.objects.get_or_create(
        username="team-bench-owner", defaults={"email": "team-bench-owner@bench.invalid"}
    )
    shop = Shop.objects.filter(slug=SHOP_SLUG).first() or shops.create_shop(
        owner=owner, name="Team Bench", slug=SHOP_SLUG, currency="EUR", country="LV"
    )
    if not DeliveryZone.objects.filter(shop=shop).exists():
        zone = shipping.create_zone(actor=owner, shop=shop, name="Everywhere", everywhere_else=True)
        shipping.add_method(actor=owner, zone=zone, name="Courier", price="0", min_days=1, max_days=2)
    return shop, owner


def _people(prefix: str, count: int) -> list[Any]:
    from agora.accounts.models import User

    names = [f"{prefix}-{i:05d}" for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [User(username=n, email=f"{n}@bench.invalid") for n in names if n not in existing]
    for user in missing:
        user.set_unusable_password()  # API tokens only: no password hashing for thousands of people
    User.objects.bulk_create(missing, batch_size=1000)
    return list(User.objects.filter(username__in=names).order_by("username"))


# --- data (in the load generator's process, never while a burst is measured) -------------------------------
def plan() -> dict[str, Any]:
    """The shop, the leaders, the joiners and their API tokens (made once; reused on a kept database)."""
    from agora.accounts.services import issue_token

    teams, joiners, places, rounds, lanes = SIZES
    shop, owner = team_shop()
    leaders = _people("team-leader", teams)
    buyers = _people("team-joiner", joiners)
    return {
        "teams": teams,
        "joiners": joiners,
        "places": places,
        "rounds": rounds,
        "lanes": lanes if 0 < lanes < joiners else 0,
        "shop_id": shop.pk,
        "owner_id": owner.pk,
        "leader_ids": [u.pk for u in leaders],
        "joiner_ids": [u.pk for u in buyers],
        "tokens": [issue_token(user=user, name="team bench")[1] for user in buyers],
        "run": uuid.uuid4().hex[:8],
    }


def describe(plan: dict[str, Any]) -> str:
    per_team = -(-plan["joiners"] // plan["teams"])
    if plan["lanes"]:
        shape = (
            f"through {plan['lanes']} keep-alive connections (`BENCH_TEAM_CONNECTIONS`), attempt i on connection "
            f"i mod {plan['lanes']}, each sending its next attempt when the previous one is answered"
        )
    else:
        shape = "all at once, each shopper on one keep-alive connection opened before the gate opens"
    return (
        f"{plan['teams']} open teams (each started by its leader through `groupbuy.services.start_team`, sandbox "
        f"card; teams of {plan['places'] + 1} that complete when full: {plan['places']} free places each) on one "
        f"group deal, then {plan['joiners']:,} signed-in shoppers (own accounts and API tokens) each send one "
        "`POST /api/v1/teams/{code}/join` (sandbox card, an Idempotency-Key each), "
        f"{shape}; up to {per_team} attempts per team, sent next to each other so that both workers race for the "
        f"same seats; {plan['rounds']} round(s), each on a fresh product and deal. Answers: 201 joined (payment "
        "authorised) or 409 (team full). After each round the database is checked: teams over capacity = 0, one "
        "authorised or captured payment per accepted member, none and no place for a refused attempt, deal units "
        "= units held. req/s = attempts per second (gate open to last answer); latencies include the queue. "
        "`/healthz` gets the same burst shape, as the ceiling."
    )


def _prepare_round(plan: dict[str, Any], round_no: int) -> dict[str, Any]:
    """A fresh product and group deal, and every leader's team started (payment authorised, clock running)."""
    from django.utils import timezone

    from agora.accounts.models import User
    from agora.catalog import services as catalog
    from agora.groupbuy import services as groupbuy
    from agora.orders import services as orders
    from agora.shops.models import Shop

    owner = User.objects.get(pk=plan["owner_id"])
    shop = Shop.objects.get(pk=plan["shop_id"])
    units = plan["teams"] * (plan["places"] + 1) + plan["joiners"]
    product = catalog.create_product(
        actor=owner,
        shop=shop,
        title=f"Team deal {plan['run']} #{round_no + 1}",
        variants=[{"sku": f"TEAM-{plan['run']}-{round_no}", "price": PRICE, "stock_quantity": units}],
    )
    catalog.publish_product(actor=owner, product=product)
    deal = groupbuy.create_deal(
        actor=owner,
        shop=shop,
        product_id=product.pk,
        group_price=GROUP_PRICE,
        ends_at=timezone.now() + timedelta(days=2),
        stock_allotted=units,
        min_members=plan["places"] + 1,
        max_members=plan["places"] + 1,
        fill_hours=24,
    )
    codes = []
    leaders = User.objects.in_bulk(plan["leader_ids"])
    with orders.quietly():
        for pk in plan["leader_ids"]:
            member = groupbuy.start_team(
                actor=leaders[pk], deal=deal, variant_id=None, address=ADDRESS, payment_method=CARD
            )
            if member.team.status != "open":
                raise BenchError(f"a leader's team did not open ({member.team.status}): check the sandbox card")
            codes.append(member.team.code)
    return {"deal_id": deal.pk, "variant_id": member.variant_id, "codes": codes, "started": timezone.now()}


@dataclass(frozen=True)
class Check:
    teams: int
    over_capacity: int
    seats_mismatch: int
    accepted: int
    members: int
    members_without_one_payment: int
    refused_with_payment: int
    refused_with_place: int
    stray_authorisations: int
    units_mismatch: int
    completed: int

    def problems(self) -> list[str]:
        found = []
        if self.over_capacity:
            found.append(f"{self.over_capacity} teams over capacity")
        if self.seats_mismatch:
            found.append(f"{self.seats_mismatch} teams whose seats_taken differs from their holding members")
        if self.members != self.accepted:
            found.append(f"{self.members} members joined for {self.accepted} accepted attempts")
        if self.members_without_one_payment:
            found.append(f"{self.members_without_one_payment} members without exactly one authorised payment")
        if self.refused_with_payment:
            found.append(f"{self.refused_with_payment} refused attempts left an authorised payment")
        if self.refused_with_place:
            found.append(f"{self.refused_with_place} refused attempts hold a place")
        if self.stray_authorisations:
            found.append(f"{self.stray_authorisations} authorised payments belong to no member")
        if self.units_mismatch:
            found.append(f"deal units taken differ from units held by {self.units_mismatch}")
        return found


def _check_round(plan: dict[str, Any], prepared: dict[str, Any], accepted: list[int], refused: list[int]) -> Check:
    from collections import Counter

    from django.db.models import Count, F, Q, Sum

    from agora.groupbuy.models import HOLDING, GroupDeal, Team, TeamMember, TeamStatus
    from agora.orders.models import Checkout, OrderLine
    from agora.payments.models import PAID, Payment, PaymentStatus

    held = (PaymentStatus.AUTHORIZED, *PAID)
    deal_id = prepared["deal_id"]
    teams = Team.objects.filter(deal_id=deal_id).annotate(
        holding=Count("members", filter=Q(members__status__in=HOLDING))
    )
    over = teams.filter(Q(seats_taken__gt=F("max_members")) | Q(holding__gt=F("max_members"))).count()
    mismatch = teams.exclude(seats_taken=F("holding")).count()
    members = TeamMember.objects.filter(team__deal_id=deal_id, status__in=HOLDING)
    joined = members.filter(is_leader=False)
    # Every payment started for a checkout of this round's variant, by checkout (reference "checkout:<id>:<n>").
    checkouts = Checkout.objects.filter(
        orders__in=OrderLine.objects.filter(variant_id=prepared["variant_id"]).values("order_id")
    )
    public = dict(checkouts.values_list("pk", "public_id"))
    per_checkout: Counter[str] = Counter()
    for reference, status in Payment.objects.filter(
        created_at__gte=prepared["started"] - timedelta(hours=1), reference__startswith="checkout:"
    ).values_list("reference", "status"):
        checkout_id = reference.split(":")[1]
        if status in held:
            per_checkout[checkout_id] += 1
    member_checkouts = {public[pk] for pk in members.values_list("order__checkout_id", flat=True) if pk in public}
    without_one = sum(1 for c in member_checkouts if per_checkout[c] != 1)
    round_checkouts = set(public.values())
    stray = sum(n for c, n in per_checkout.items() if c in round_checkouts and c not in member_checkouts)
    refused_paid = Payment.objects.filter(
        payer_id__in=refused, status__in=held, created_at__gte=prepared["started"]
    ).count()
    refused_place = members.filter(user_id__in=refused).count()
    units = GroupDeal.objects.filter(pk=deal_id).values_list("units_taken", flat=True).get()
    units_held = members.aggregate(s=Sum("quantity"))["s"] or 0
    return Check(
        teams=teams.count(),
        over_capacity=over,
        seats_mismatch=mismatch,
        accepted=len(accepted),
        members=joined.count(),
        members_without_one_payment=without_one,
        refused_with_payment=refused_paid,
        refused_with_place=refused_place,
        stray_authorisations=stray,
        units_mismatch=abs(units - units_held),
        completed=Team.objects.filter(deal_id=deal_id, status=TeamStatus.SUCCEEDED).count(),
    )


# --- load ---------------------------------------------------------------------------------------------------
async def _settle(host: str, port: int, probe: Target, timeout: float) -> None:
    """Until /healthz answers in under SETTLED_MS three times in a row (at most SETTLE_TIMEOUT), on a connection of
    its own: a burst measured while the server still works through the previous one measures both."""
    conn = Connection(host, port)
    fast, deadline = 0, time.perf_counter() + SETTLE_TIMEOUT
    try:
        while fast < 3 and time.perf_counter() < deadline:
            started = time.perf_counter()
            await asyncio.wait_for(conn.request(probe, "/healthz"), timeout)
            fast = fast + 1 if (time.perf_counter() - started) * 1000 < SETTLED_MS else 0
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def _burst(
    base_url: str, requests: list[Target], timeout: float, result: BurstResult, pgid: int | None, lanes: int = 0
) -> list[tuple[int, str]]:
    """Waits until the server is idle (the previous burst's work done), opens one connection per request (a
    hundred at a time, no request sent: uvicorn closes a connection idle for 5 s after a response, and a burst
    must not meet closed connections), then sends all requests at once. With ``lanes`` below the number of
    requests, that many connections instead, request i on connection i % lanes, each sending its next request
    when the previous one is answered. (status, code) per request, status 0 when the request failed."""
    from bench import cpu

    host, port = check_loopback(base_url)
    width = lanes if 0 < lanes < len(requests) else len(requests)
    conns = [Connection(host, port) for _ in range(width)]
    probe = Target("/healthz", ["/healthz"])
    answers: list[tuple[int, str]] = [(0, "")] * len(requests)
    try:
        await _settle(host, port, probe, timeout)
        # Opened, not warmed with a request: uvicorn starts its 5 s keep-alive clock only after a response, so a
        # connection that has not sent anything yet stays open however long the others take to connect.
        for start in range(0, len(conns), CONNECT_AT_ONCE):
            await asyncio.gather(*(asyncio.wait_for(c.open(), timeout) for c in conns[start : start + CONNECT_AT_ONCE]))
        gate = asyncio.Event()

        async def lane(first: int, conn: Connection) -> None:
            await gate.wait()
            for i in range(first, len(requests), width):
                await attempt(i, conn, requests[i])

        async def attempt(i: int, conn: Connection, target: Target) -> None:
            started = time.perf_counter()
            try:
                status, length, body = await asyncio.wait_for(_request(conn, target), timeout)
            except TimeoutError:
                result.failures["timeout"] += 1
                result.sample_error = result.sample_error or f"no answer in {timeout:g} s"
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
            answers[i] = (status, _code(body))
            if status not in result.expected and not result.sample_error:
                result.sample_error = f"HTTP {status} {body[:200]!r}"

        before = cpu.snapshot(pgid)
        tasks = [asyncio.ensure_future(lane(i, c)) for i, c in enumerate(conns)]
        cpu_before, started = time.process_time(), time.perf_counter()
        gate.set()
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - started
        result.client_cpu += time.process_time() - cpu_before
        result.add_usage(wall, before, cpu.snapshot(pgid), pgid)
    finally:
        for conn in conns:
            await conn.close()
    return answers


def _join_targets(plan: dict[str, Any], prepared: dict[str, Any], round_no: int) -> list[Target]:
    """Joiner i tries team i // per_team: the attempts on one team are sent one after the other."""
    body = json.dumps({"address": ADDRESS, "payment_method": CARD}).encode()
    codes = prepared["codes"]
    per_team = -(-plan["joiners"] // plan["teams"])
    return [
        Target(
            "POST /api/v1/teams/{code}/join",
            [f"/api/v1/teams/{codes[min(i // per_team, len(codes) - 1)]}/join"],
            method="POST",
            body=body,
            headers=(
                ("Authorization", f"Bearer {token}"),
                ("Content-Type", "application/json"),
                ("Idempotency-Key", f"team-{plan['run']}-{round_no}-{i}"),
            ),
        )
        for i, token in enumerate(plan["tokens"])
    ]


def run(base_url: str, plan: dict[str, Any], settings: Settings, *, server_pgid: int | None = None) -> list[Result]:
    from django.db import connections

    teams, joiners, rounds = plan["teams"], plan["joiners"], plan["rounds"]
    timeout = max(settings.timeout, MIN_TIMEOUT)
    joins = BurstResult(
        target=Target("POST /api/v1/teams/{code}/join", ["/api/v1/teams/-/join"], method="POST"),
        # 503 is the server shedding a burst it cannot queue in time (Retry-After; nothing written): counted apart.
        expected=frozenset({201, 409, 503}),
    )
    ceiling = BurstResult(target=Target("/healthz (same burst)", ["/healthz"]), expected=frozenset({200}))
    outcome: dict[str, int] = {}
    checks: list[Check] = []
    with asyncio.Runner(loop_factory=_new_loop) as runner:
        for round_no in range(rounds):
            print(f"  round {round_no + 1}/{rounds}: starting {teams} teams ... ", end="", flush=True)
            started = time.perf_counter()
            prepared = _prepare_round(plan, round_no)
            print(f"{time.perf_counter() - started:.0f} s; {joiners} joins at once ... ", end="", flush=True)
            connections.close_all()  # the load generator holds no connection while the server is measured
            requests = _join_targets(plan, prepared, round_no)
            answers = runner.run(_burst(base_url, requests, timeout, joins, server_pgid, plan["lanes"]))
            accepted = [plan["joiner_ids"][i] for i, (status, _c) in enumerate(answers) if status == 201]
            refused = [plan["joiner_ids"][i] for i, (status, _c) in enumerate(answers) if status != 201]
            for status, code in answers:
                key = f"{status} {code}" if status != 201 else "201"
                outcome[key] = outcome.get(key, 0) + 1
            check = _check_round(plan, prepared, accepted, refused)
            checks.append(check)
            joins.broken_promises += [f"round {round_no + 1}: {p}" for p in check.problems()]
            print(
                f"accepted {check.accepted}, refused {len(refused)}, over capacity {check.over_capacity}, "
                f"teams completed {check.completed}/{check.teams}",
                flush=True,
            )
            connections.close_all()
            runner.run(_burst(base_url, [ceiling.target] * joiners, timeout, ceiling, server_pgid, plan["lanes"]))
    if joins.broken_promises:
        first = f"{joins.sample_error}; " if joins.sample_error else ""
        joins.sample_error = first + "; ".join(joins.broken_promises)
    accepted_all = sum(c.accepted for c in checks)
    over = sum(c.over_capacity for c in checks)
    completed = sum(c.completed for c in checks)
    at_once = plan["lanes"] or joiners
    refused_all = sum(n for k, n in outcome.items() if k.startswith("409"))
    shed = sum(n for k, n in outcome.items() if k.startswith("503"))
    joins.target = replace(
        joins.target,
        name=f"POST /api/v1/teams/{{code}}/join ({at_once:,} at once, {teams} teams)",
        note=f"accepted {accepted_all:,}, refused {refused_all:,} (409 team full), shed {shed:,} (503 busy), "
        f"over capacity {over}, "
        f"teams completed {completed:,} of {teams * rounds:,}; attempts/s = req/s",
    )
    ceiling.target = replace(ceiling.target, note=f"ceiling: {joiners:,} requests, {at_once:,} at once, no database")
    plan["summary"] = {"accepted": accepted_all, "over_capacity": over, "outcomes": outcome, "completed": completed}
    return [joins, ceiling]


def targets(plan: dict[str, Any]) -> list[Target]:
    """For tools that only know the Target interface: a team's public read (no writes)."""
    return [Target("/api/v1/group-deals", ["/api/v1/group-deals"])]
