"""The expiry sweep of team purchases: N expired teams (100,000 by default), each with one member whose payment is
authorised, failed by the ``groupbuy.sweep`` Celery task; then a check that every authorisation was voided exactly
once. In-process (the sweep is a Celery task, not an HTTP request); the server started by bench/run.sh idles.

    BENCH_SCENARIOS=team_expiry make bench
    BENCH_TEAM_EXPIRY_TEAMS=100000 BENCH_TEAM_EXPIRY_SWEEPERS=2   # the defaults

The teams are written in bulk (``bulk_create``), not through the services: 100,000 checkouts through the services
would take hours. The first team of each deal *is* made by ``groupbuy.services.start_team`` with the sandbox card,
and every bulk row copies that team's rows field by field (orders, lines, events, checkout, payment, its events,
the sandbox charge, team, member) with fresh identities, so the sweep meets exactly what production writes; the
variants' stock and the deals' units are taken as a checkout would. Then the clocks are moved into the past.

The sweep runs as production runs it: ``BENCH_TEAM_EXPIRY_SWEEPERS`` processes (2) call the task body
``agora.groupbuy.tasks.sweep`` at the same moment (as if beat had fired twice, or two workers took it), each with
its own database connection. The sweep closes teams in chunks (``AGORA_TEAM_SWEEP_CHUNK``, 50): one transaction
fails them, one cancels their orders, one task voids their authorisations (one gateway call each), one insert
notifies their members. The tasks it enqueues (the voids, the e-mails) run inline in the same process (Celery's
eager mode, which is also the embedded mode's), so the time measured is the whole work until every authorisation
is released; e-mails are built and handed to Django's dummy backend instead of an SMTP server.

Checked afterwards (a broken promise counts as a failed request, so ``make bench`` exits with 1): the sweepers
failed N teams in all, every team is failed with no member holding a place, every order cancelled, every payment
voided with exactly one "voided" PaymentEvent, every sandbox charge voided, the deals' units and the variants'
stock back where they were, and each member told once ("team_failed").
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bench import cpu
from bench.loadgen import BenchError, Result, Settings, Target
from bench.scenarios.teams import ADDRESS, CARD, knob, team_shop

SIZES = (
    knob("BENCH_TEAM_EXPIRY_TEAMS", 100_000, 1, 1_000_000),
    knob("BENCH_TEAM_EXPIRY_SWEEPERS", 2, 1, 8),
)
MAX_DEALS = 100  # teams are spread over this many deals (one product each): no single hot deal or variant row
CHUNK = 2_000  # teams written per bulk round
ANALYZE_AFTER_CHUNKS = {0, 1, 3, 7, 15, 31, 63, 127, 255}  # statistics refreshed as the tables double
SWEEP_TIMEOUT = 4 * 3600  # seconds; a sweeper still running after this is a failure, not a figure


# --- data ------------------------------------------------------------------------------------------------
def plan() -> dict[str, Any]:
    """Only the cheap part (the shop); the teams are written by ``run``, so that scenarios listed before this
    one are measured on the same database as without it."""
    from django.conf import settings as django_settings

    teams, sweepers = SIZES
    shop, owner = team_shop()
    return {
        "teams": teams,
        "sweepers": sweepers,
        "deals": min(MAX_DEALS, teams),
        "shop_id": shop.pk,
        "owner_id": owner.pk,
        "run": uuid.uuid4().hex[:8],
        "chunk": int(django_settings.AGORA_TEAM_SWEEP_CHUNK),
    }


def describe(plan: dict[str, Any]) -> str:
    text = (
        f"{plan['teams']:,} open teams whose clock ran out, spread over {plan['deals']} group deals (one product "
        "each), each with a leader whose payment (sandbox card) is only authorised; the first team of each deal is "
        "started through `groupbuy.services.start_team`, the others are bulk copies of its rows. Then "
        f"{plan['sweepers']} processes run the `groupbuy.sweep` task body at once (its follow-up tasks inline: "
        "void, e-mails). req/s = teams failed per second; latencies = per team, from its failure committed to its "
        "order cancelled, authorisation voided and member notified (teams are closed in chunks of "
        f"{plan['chunk']}, so a team's latency is its chunk's); CPU ms/req = CPU of the "
        "sweeper processes per team. Checked afterwards: every team failed once, every order cancelled, every "
        "authorisation voided exactly once (one `voided` PaymentEvent per payment, sandbox charge voided), units "
        "and stock back, one `team_failed` notice per member."
    )
    if "built_s" in plan:
        text += f" Writing the teams took {plan['built_s']:.0f} s (not measured)."
    return text


def _users(count: int) -> list[Any]:
    from agora.accounts.models import User

    names = [f"team-expiry-{i:05d}" for i in range(count)]
    existing = set(User.objects.filter(username__in=names).values_list("username", flat=True))
    missing = [User(username=n, email=f"{n}@bench.invalid") for n in names if n not in existing]
    for user in missing:
        user.set_unusable_password()
    User.objects.bulk_create(missing, batch_size=2000)
    return list(User.objects.filter(username__in=names).order_by("username"))


def _values(obj: Any, **overrides: Any) -> dict[str, Any]:
    """The row's own column values (not its id), with ``overrides``."""
    values = {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields if not f.primary_key}
    values.update(overrides)
    return values


@dataclass
class _Template:
    """One team started through the services: every bulk copy of its deal is made from its rows."""

    deal_id: int
    variant_id: int
    rows: dict[str, Any] = field(default_factory=dict)


def _start_templates(plan: dict[str, Any], leader: Any) -> list[_Template]:
    from django.utils import timezone

    from agora.accounts.models import User
    from agora.catalog import services as catalog
    from agora.groupbuy import services as groupbuy
    from agora.orders import services as orders
    from agora.orders.models import Checkout, OrderEvent, OrderLine
    from agora.payments.models import PaymentEvent, SandboxCharge
    from agora.shops.models import Shop

    owner = User.objects.get(pk=plan["owner_id"])
    shop = Shop.objects.get(pk=plan["shop_id"])
    per_deal = -(-plan["teams"] // plan["deals"])
    templates = []
    for d in range(plan["deals"]):
        product = catalog.create_product(
            actor=owner,
            shop=shop,
            title=f"Team expiry {plan['run']} #{d + 1}",
            variants=[{"sku": f"TEAMX-{plan['run']}-{d}", "price": "20.00", "stock_quantity": per_deal + 10}],
        )
        catalog.publish_product(actor=owner, product=product)
        deal = groupbuy.create_deal(
            actor=owner,
            shop=shop,
            product_id=product.pk,
            group_price="15.00",
            ends_at=timezone.now() + timedelta(days=7),
            stock_allotted=per_deal + 10,
            min_members=2,
            max_members=5,
            fill_hours=24,
        )
        with orders.quietly():
            member = groupbuy.start_team(actor=leader, deal=deal, variant_id=None, address=ADDRESS, payment_method=CARD)
        order = member.order
        if order is None or member.variant_id is None or member.status != "authorised":
            raise BenchError(f"the template team of deal {deal.pk} did not start ({member.status})")
        checkout = Checkout.objects.select_related("payment").get(pk=order.checkout_id)
        payment = checkout.payment
        if payment is None:
            raise BenchError(f"the template team of deal {deal.pk} has no payment")
        templates.append(
            _Template(
                deal_id=deal.pk,
                variant_id=member.variant_id,
                rows={
                    "team": member.team,
                    "member": member,
                    "order": order,
                    "line": OrderLine.objects.get(order=order),
                    "order_events": list(OrderEvent.objects.filter(order=order).order_by("pk")),
                    "checkout": checkout,
                    "payment": payment,
                    "payment_events": list(PaymentEvent.objects.filter(payment=payment).order_by("pk")),
                    "charge": SandboxCharge.objects.get(reference=payment.gateway_reference),
                },
            )
        )
    return templates


def _number(alphabet: str, length: int, taken: set[str]) -> str:
    while True:
        value = "".join(secrets.choice(alphabet) for _i in range(length))
        if value not in taken:
            taken.add(value)
            return value


def _write_chunk(slots: list[tuple[_Template, Any]], taken: set[str]) -> None:
    """Bulk copies of the templates' rows, one team per (template, leader) slot, with fresh identities."""
    from django.db import transaction

    from agora.groupbuy.models import Team, TeamMember
    from agora.groupbuy.services import CODE_ALPHABET, CODE_LENGTH
    from agora.orders.models import Checkout, Order, OrderEvent, OrderLine
    from agora.orders.services import NUMBER_ALPHABET
    from agora.payments.models import (
        Payment,
        PaymentEvent,
        SandboxCharge,
        new_payment_id,
        new_sandbox_charge_id,
    )

    with transaction.atomic():
        charges, payments, checkouts = [], [], []
        for template, leader in slots:
            r = template.rows
            pay_id, charge_ref, checkout_id = new_payment_id(), new_sandbox_charge_id(), uuid.uuid4().hex
            reference = r["payment"].reference.replace(r["checkout"].public_id, checkout_id)
            charges.append(
                SandboxCharge(**_values(r["charge"], reference=charge_ref, idempotency_key=f"agora-{pay_id}-authorize"))
            )
            payments.append(
                Payment(
                    **_values(
                        r["payment"],
                        public_id=pay_id,
                        gateway_reference=charge_ref,
                        payer_id=leader.pk,
                        payer_email=leader.email,
                        reference=reference,
                        idempotency_key=reference,
                    )
                )
            )
            checkouts.append((checkout_id, leader))
        SandboxCharge.objects.bulk_create(charges)
        Payment.objects.bulk_create(payments)
        PaymentEvent.objects.bulk_create(
            PaymentEvent(**_values(event, payment_id=payment.pk))
            for (template, _leader), payment in zip(slots, payments, strict=True)
            for event in template.rows["payment_events"]
        )
        made_checkouts = Checkout.objects.bulk_create(
            Checkout(
                **_values(
                    template.rows["checkout"],
                    public_id=checkout_id,
                    buyer_id=leader.pk,
                    email=leader.email,
                    payment_id=payment.pk,
                )
            )
            for (template, _l), (checkout_id, leader), payment in zip(slots, checkouts, payments, strict=True)
        )
        orders = Order.objects.bulk_create(
            Order(
                **_values(
                    template.rows["order"],
                    checkout_id=checkout.pk,
                    buyer_id=leader.pk,
                    email=leader.email,
                    number=_number(NUMBER_ALPHABET, 10, taken),
                )
            )
            for (template, leader), checkout in zip(slots, made_checkouts, strict=True)
        )
        OrderLine.objects.bulk_create(
            OrderLine(**_values(template.rows["line"], order_id=order.pk))
            for (template, _l), order in zip(slots, orders, strict=True)
        )
        OrderEvent.objects.bulk_create(
            OrderEvent(**_values(event, order_id=order.pk, actor_id=leader.pk if event.actor_id else None))
            for (template, leader), order in zip(slots, orders, strict=True)
            for event in template.rows["order_events"]
        )
        teams = Team.objects.bulk_create(
            Team(**_values(template.rows["team"], leader_id=leader.pk, code=_number(CODE_ALPHABET, CODE_LENGTH, taken)))
            for template, leader in slots
        )
        TeamMember.objects.bulk_create(
            TeamMember(**_values(template.rows["member"], team_id=team.pk, user_id=leader.pk, order_id=order.pk))
            for (template, leader), team, order in zip(slots, teams, orders, strict=True)
        )


def _build(plan: dict[str, Any]) -> dict[str, Any]:
    """The teams (see the module's docstring), every clock already run out. Returns what the check needs."""
    from django.conf import settings as django_settings
    from django.db import connection
    from django.db.models import F
    from django.utils import timezone

    from agora.catalog.models import Variant
    from agora.groupbuy.models import GroupDeal, Team, TeamMember, TeamStatus
    from agora.orders.models import Checkout, Order

    n, deals = plan["teams"], plan["deals"]
    leaders = _users(-(-n // deals))
    templates = _start_templates(plan, leaders[0])
    stock_before = dict(
        Variant.objects.filter(pk__in=[t.variant_id for t in templates]).values_list("pk", "stock_quantity")
    )
    # Team k goes to deal k % deals, led by person k // deals: nobody holds two places in one deal.
    slots = [(templates[k % deals], leaders[k // deals]) for k in range(deals, n)]
    taken: set[str] = set()
    for number, start in enumerate(range(0, len(slots), CHUNK)):
        _write_chunk(slots[start : start + CHUNK], taken)
        if connection.vendor == "postgresql" and number in ANALYZE_AFTER_CHUNKS:
            # The tables grow from a few rows to 100,000s: without fresh statistics, and a fresh session for the
            # foreign-key checks' cached plans (made when the tables were tiny), each commit scans them whole.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            connection.close()
    # What the checkouts would have taken: the variants' stock and the deals' units.
    copies = {t.deal_id: 0 for t in templates}
    for template, _leader in slots:
        copies[template.deal_id] += 1
    for template in templates:
        extra = copies[template.deal_id]
        Variant.objects.filter(pk=template.variant_id).update(stock_quantity=F("stock_quantity") - extra)
        GroupDeal.objects.filter(pk=template.deal_id).update(units_taken=F("units_taken") + extra)
    # Every clock ran out a minute ago (the orders stay reserved for the grace period, as in production).
    now = timezone.now()
    expired = now - timedelta(minutes=1)
    started = expired - timedelta(hours=24)
    grace = timedelta(minutes=int(django_settings.AGORA_TEAM_GRACE_MINUTES))
    deal_ids = [t.deal_id for t in templates]
    teams = Team.objects.filter(deal_id__in=deal_ids)
    teams.update(created_at=started, started_at=started, expires_at=expired)
    TeamMember.objects.filter(team__deal_id__in=deal_ids).update(joined_at=started, authorised_at=started)
    order_ids = TeamMember.objects.filter(team__deal_id__in=deal_ids).values("order_id")
    Order.objects.filter(pk__in=order_ids).update(placed_at=started, reserved_until=expired + grace)
    Checkout.objects.filter(orders__in=order_ids).update(reserved_until=expired + grace)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # As autovacuum would have done on a database in service before the sweep runs.
            cursor.execute("ANALYZE")
    # Every team the sweep will fail: ours, and any left due by an earlier run on a kept database.
    due = Team.objects.filter(status__in=[TeamStatus.OPEN, TeamStatus.PENDING], expires_at__lte=timezone.now())
    return {"deal_ids": deal_ids, "stock_before": stock_before, "templates": len(templates), "due": due.count()}


# --- the sweep ---------------------------------------------------------------------------------------------
def _sweeper(gate: Any, results: Any) -> None:
    """One worker process: Django set up, then the ``groupbuy.sweep`` task body when the gate opens."""
    import resource

    import django

    django.setup()
    from django.test.utils import override_settings

    from agora.celery import app
    from agora.groupbuy import services, tasks

    # The follow-up tasks run here, inline, so that "done" means every authorisation is released.
    app.conf.task_always_eager = True
    latencies: list[float] = []
    after_failure = getattr(services, "_after_failure", None)
    if after_failure is not None:
        # Timing only: the same function runs, with a stopwatch around it. It closes a chunk of teams together,
        # so each team of the chunk is counted with the chunk's time (when its member was told, all was done).
        def timed(teams: Any, **kwargs: Any) -> None:
            started = time.perf_counter()
            after_failure(teams, **kwargs)
            latencies.extend([(time.perf_counter() - started) * 1000] * len(teams))

        services._after_failure = timed  # type: ignore[attr-defined]
    from django.db import connection

    connection.ensure_connection()
    gate.wait()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    error = ""
    outcome: dict[str, int] = {}
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            outcome = tasks.sweep()
    except Exception as exc:  # reported as a failure of the row, not a crash of the whole run
        error = repr(exc)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    results.put({"outcome": outcome, "latencies": latencies, "cpu": used, "wall": wall, "error": error})


@dataclass
class SweepResult(Result):
    """Teams failed (the row's "requests"), with the promises checked afterwards."""

    teams: int = 0
    broken_promises: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return self.teams

    @property
    def errors(self) -> int:
        return sum(self.failures.values()) + len(self.broken_promises)


def _check(plan: dict[str, Any], built: dict[str, Any], failed: int) -> tuple[list[str], dict[str, int]]:
    from django.db.models import Count, Q

    from agora.catalog.models import Variant
    from agora.groupbuy.models import HOLDING, GroupDeal, Team, TeamMember, TeamStatus
    from agora.notifications.models import Notification
    from agora.orders.models import Checkout, Order, OrderStatus
    from agora.payments.models import Payment, PaymentStatus, SandboxCharge

    n, deal_ids = plan["teams"], built["deal_ids"]
    teams = Team.objects.filter(deal_id__in=deal_ids)
    members = TeamMember.objects.filter(team__deal_id__in=deal_ids)
    orders = Order.objects.filter(pk__in=members.values("order_id"))
    payments = Payment.objects.filter(pk__in=Checkout.objects.filter(orders__in=orders).values("payment_id"))
    notice_keys = [f"team_failed:{pk}:{uid}" for pk, uid in teams.values_list("pk", "leader_id")]
    voids = payments.annotate(voids=Count("events", filter=Q(events__status=PaymentStatus.VOIDED)))
    figures = {
        "teams": teams.count(),
        "failed_by_sweepers": failed,
        "teams_failed": teams.filter(status=TeamStatus.FAILED).count(),
        "members_holding": members.filter(status__in=HOLDING).count(),
        "orders_cancelled": orders.filter(status=OrderStatus.CANCELLED).count(),
        "payments": payments.count(),
        "payments_voided": payments.filter(status=PaymentStatus.VOIDED).count(),
        "voided_once": voids.filter(voids=1).count(),
        "voided_twice_or_more": voids.filter(voids__gt=1).count(),
        "charges_voided": SandboxCharge.objects.filter(
            reference__in=payments.values("gateway_reference"), status=PaymentStatus.VOIDED
        ).count(),
        "units_left_taken": sum(GroupDeal.objects.filter(pk__in=deal_ids).values_list("units_taken", flat=True)),
        "stock_off": sum(
            abs(stock - built["stock_before"][pk] - 1)  # the template team's unit comes back too
            for pk, stock in Variant.objects.filter(pk__in=built["stock_before"]).values_list("pk", "stock_quantity")
        ),
        "failure_notices": Notification.objects.filter(kind="team_failed", dedupe_key__in=notice_keys).count(),
    }
    want = {
        "teams": n,
        "failed_by_sweepers": built["due"],
        "teams_failed": n,
        "members_holding": 0,
        "orders_cancelled": n,
        "payments": n,
        "payments_voided": n,
        "voided_once": n,
        "voided_twice_or_more": 0,
        "charges_voided": n,
        "units_left_taken": 0,
        "stock_off": 0,
        "failure_notices": n,
    }
    problems = [f"{name} {figures[name]}, expected {value}" for name, value in want.items() if figures[name] != value]
    return problems, figures


def run(base_url: str, plan: dict[str, Any], settings: Settings, *, server_pgid: int | None = None) -> list[Result]:
    from django.db import connections

    n, sweepers = plan["teams"], plan["sweepers"]
    row = SweepResult(target=Target(f"groupbuy.sweep: {n:,} expired teams, {sweepers} at once", ["/-"], method="TASK"))
    print(f"  writing {n:,} expired teams ... ", end="", flush=True)
    started = time.perf_counter()
    built = _build(plan)
    plan["built_s"] = time.perf_counter() - started
    print(f"{plan['built_s']:.0f} s", flush=True)
    connections.close_all()

    context = multiprocessing.get_context("spawn")
    gate, results = context.Event(), context.Queue()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agora.settings")
    procs = [context.Process(target=_sweeper, args=(gate, results), daemon=True) for _ in range(sweepers)]
    for proc in procs:
        proc.start()
    time.sleep(5)  # Django set up in each before the clock starts (a worker is started long before beat fires)
    print(f"  sweeping with {sweepers} processes ... ", end="", flush=True)
    before = cpu.snapshot(None)
    started = time.perf_counter()
    gate.set()
    reports = []
    for _ in procs:
        try:
            reports.append(results.get(timeout=SWEEP_TIMEOUT))
        except Exception:
            row.failures["timeout"] += 1
            break
    wall = time.perf_counter() - started
    after = cpu.snapshot(None)
    for proc in procs:
        proc.join(timeout=10)
        if proc.is_alive():
            proc.terminate()
    machine, _server, stores = cpu.usage(before, after)
    row.elapsed = wall
    row.machine_busy, row.store_cores = machine, stores
    row.server_cores = sum(r["cpu"] for r in reports) / wall
    for report in reports:
        row.latencies_ms += report["latencies"]
        if report["error"]:
            row.failures["exception"] += 1
            row.sample_error = row.sample_error or report["error"]
    failed = sum(r["outcome"].get("failed", 0) for r in reports)
    row.teams = failed
    print(f"{wall:.1f} s, {failed:,} teams failed", flush=True)

    problems, figures = _check(plan, built, failed)
    row.broken_promises = problems
    if problems:
        row.sample_error = "; ".join(filter(None, [row.sample_error, *problems]))
    split = ", ".join(str(r["outcome"].get("failed", 0)) for r in reports)
    row.target = Target(
        row.target.name,
        row.target.paths,
        method="TASK",
        note=f"{figures['voided_once']:,} of {n:,} authorisations voided exactly once, "
        f"{figures['voided_twice_or_more']} twice; teams per sweeper {split}; wall {wall:.0f} s",
    )
    plan["figures"] = figures
    return [row]
