"""Writes for team purchases: a shop's group deals, starting and joining teams, and settling them.

Deals: ``create_deal``, ``update_deal``, ``end_deal``.
Teams: ``start_team``, ``join_team`` (a one-item checkout whose payment is only authorised), ``confirm_member``
(the payment was authorised: the member counts, the team may succeed), ``settle_team`` (capture a succeeded
team's members at the tier reached, refund the difference to those charged more), ``release_members_for_orders``
(an order closed unpaid: its member leaves the team), ``expire_due_teams``, ``send_reminders``, ``sweep``.

Concurrency. Starting or joining is ``orders.place_direct_checkout`` whose ``claim`` runs in the order's
transaction with the variant already locked; it locks the Team, then the GroupDeal (lock order everywhere:
Variant → Team → GroupDeal), re-checks everything and takes the seat with conditional updates, so a team never
goes over its maximum and a deal never sells more than it was allotted. Team and deal rows are locked "for no key
update": inserting a member (or a team) only takes a key-share lock on them, so the two never deadlock. No team or
deal lock is ever held while a payment gateway is called: failing a team commits first, and its members' orders
are cancelled afterwards (each cancel is a conditional placed → cancelled update, so each authorisation is voided
exactly once whoever else tries).
"""

from __future__ import annotations

import logging
import secrets
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from kombu.exceptions import KombuError

from agora.accounts.models import User
from agora.catalog.models import Product, Variant
from agora.core.errors import DomainError, NotAuthenticated, ValidationFailed
from agora.core.money import format_money, to_amount
from agora.core.numbers import whole_number
from agora.groupbuy.errors import (
    AlreadyInTeam,
    DealInvalid,
    DealNotLive,
    LimitReached,
    NewCustomersOnly,
    TeamClosed,
    TeamOrderCharging,
)
from agora.groupbuy.models import (
    HOLDING,
    Audience,
    DealTier,
    GroupDeal,
    MemberStatus,
    Team,
    TeamMember,
    TeamStatus,
)
from agora.groupbuy.selectors import price_for
from agora.notifications.services import Notice, notify_many
from agora.orders import selectors as order_selectors
from agora.orders import services as orders
from agora.orders.models import Checkout, Order, OrderStatus, RefundRecord
from agora.payments import services as payments
from agora.payments.models import PAID, UNSETTLED, Payment, PaymentStatus
from agora.shops.models import Shop
from agora.shops.permissions import ShopAction
from agora.shops.selectors import require

logger = logging.getLogger("agora.groupbuy")

M = MemberStatus
T = TeamStatus
# Members whose payment went through: they count towards the minimum and the tiers.
COUNTED = (M.AUTHORISED, M.CAPTURING, M.CAPTURED)
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
MAX_ID = 2**63 - 1
MAX_STOCK = 1_000_000
MAX_PER_USER = 999
MAX_TIERS = 10
MAX_DEAL_DAYS = 366
DEAL_FIELDS = (
    "group_price",
    "ends_at",
    "stock_allotted",
    "min_members",
    "max_members",
    "fill_hours",
    "tiers",
    "starts_at",
    "per_user_limit",
    "audience",
    "variant_ids",
)


# --- small helpers ------------------------------------------------------------------------
def team_url(team: Team) -> str:
    """The team's page (its share link), relative to the site."""
    try:
        return reverse("web:team", args=[team.code])
    except NoReverseMatch:
        return f"/teams/{team.code}/"


def _whole(value: object, *, field: str, low: int, high: int, what: str) -> int:
    return whole_number(value, field=field, low=low, high=high, what=what, error=DealInvalid)


def _price(value: object, currency: str, *, field: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise DealInvalid(_("Give a price, e.g. 12.50."), field=field)
    try:
        price = to_amount(value, currency, field=field)
    except ValidationFailed as exc:
        raise DealInvalid(exc.message, field=field) from None
    if price <= 0:
        raise DealInvalid(_("The price must be more than zero."), field=field)
    return price


def _moment(value: object, *, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise DealInvalid(_("Give a date and time, e.g. 2030-01-31T18:00."), field=field) from None
    if not isinstance(value, datetime):
        raise DealInvalid(_("Give a date and time, e.g. 2030-01-31T18:00."), field=field)
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def _require_user(actor: User | None) -> User:
    if actor is None or not actor.is_authenticated:
        raise NotAuthenticated(_("Sign in first: teams are made of real people."))
    return actor


def _money(amount: Decimal, currency: str) -> str:
    return format_money(amount, currency)


# --- the shop's side: deals ---------------------------------------------------------------
@dataclass
class _DealFields:
    group_price: Decimal
    min_members: int
    max_members: int
    fill_hours: int
    starts_at: datetime
    ends_at: datetime
    stock_allotted: int
    per_user_limit: int
    audience: str
    tiers: list[tuple[int, Decimal]]
    variants: list[Variant]


def _clean_tiers(
    tiers: Sequence[Mapping[str, Any]] | None, *, currency: str, group_price: Decimal, low: int, high: int
) -> list[tuple[int, Decimal]]:
    if tiers is None:
        return []
    if isinstance(tiers, str | bytes | Mapping) or not isinstance(tiers, Sequence):
        raise DealInvalid(_('Tiers are a list like [{"members": 5, "price": "15.00"}].'), field="tiers")
    if len(tiers) > MAX_TIERS:
        raise DealInvalid(_("At most %(max)d price tiers.") % {"max": MAX_TIERS}, field="tiers")
    cleaned: list[tuple[int, Decimal]] = []
    for tier in tiers:
        if not isinstance(tier, Mapping):
            raise DealInvalid(_('Tiers are a list like [{"members": 5, "price": "15.00"}].'), field="tiers")
        members = _whole(tier.get("members"), field="tiers", low=0, high=10**6, what=_("A tier's team size"))
        price = _price(tier.get("price"), currency, field="tiers")
        if not low < members <= high:
            raise DealInvalid(
                _("A tier's team size must be more than the minimum (%(min)d) and at most the maximum (%(max)d).")
                % {"min": low, "max": high},
                field="tiers",
            )
        if price >= group_price:
            raise DealInvalid(
                _("A tier's price must be lower than the group price (%(price)s).")
                % {"price": _money(group_price, currency)},
                field="tiers",
            )
        if cleaned and (members <= cleaned[-1][0] or price >= cleaned[-1][1]):
            raise DealInvalid(_("Tiers must go up in team size and down in price, one after the other."), field="tiers")
        cleaned.append((members, price))
    return cleaned


def _clean_variants(product: Product, variant_ids: Sequence[int] | None) -> list[Variant]:
    if not variant_ids:
        return []
    if isinstance(variant_ids, str | bytes) or not isinstance(variant_ids, Sequence):
        raise DealInvalid(_("Variants are a list of variant ids."), field="variant_ids")
    ids: set[int] = set()
    for value in variant_ids:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
            raise DealInvalid(_("Variants are a list of variant ids."), field="variant_ids")
        ids.add(value)
    found = list(Variant.objects.filter(product=product, pk__in=ids, is_active=True).order_by("pk"))
    missing = sorted(ids - {v.pk for v in found})
    if missing:
        raise DealInvalid(
            _("%(product)s has no variant %(ids)s for sale.")
            % {"product": product.title, "ids": ", ".join(str(i) for i in missing)},
            field="variant_ids",
        )
    return found


def _clean_deal(*, shop: Shop, product: Product, values: Mapping[str, Any], units_taken: int = 0) -> _DealFields:
    currency = shop.currency
    group_price = _price(values.get("group_price"), currency, field="group_price")
    max_team = int(settings.AGORA_TEAM_MAX_MEMBERS)
    low = _whole(values.get("min_members", 2), field="min_members", low=2, high=max_team, what=_("The team size"))
    high_value = values.get("max_members")
    high = (
        low
        if high_value is None or high_value == ""
        else _whole(high_value, field="max_members", low=2, high=max_team, what=_("The largest team size"))
    )
    if high < low:
        raise DealInvalid(
            _("The largest team size cannot be below the minimum (%(min)d).") % {"min": low}, field="max_members"
        )
    fill = _whole(
        values.get("fill_hours", 24),
        field="fill_hours",
        low=1,
        high=int(settings.AGORA_TEAM_MAX_FILL_HOURS),
        what=_("The time to fill a team (hours)"),
    )
    now = timezone.now()
    start_value = values.get("starts_at")
    starts_at = now if start_value is None else _moment(start_value, field="starts_at")
    ends_at = _moment(values.get("ends_at"), field="ends_at")
    if ends_at <= starts_at:
        raise DealInvalid(_("The deal must end after it starts."), field="ends_at")
    if ends_at <= now:
        raise DealInvalid(_("The end is already past."), field="ends_at")
    if ends_at - starts_at > timedelta(days=MAX_DEAL_DAYS):
        raise DealInvalid(_("A group deal lasts at most a year."), field="ends_at")
    stock = _whole(
        values.get("stock_allotted"),
        field="stock_allotted",
        low=max(1, units_taken),
        high=MAX_STOCK,
        what=_("The units for the deal"),
    )
    limit = _whole(
        values.get("per_user_limit", 1),
        field="per_user_limit",
        low=1,
        high=MAX_PER_USER,
        what=_("The limit per shopper"),
    )
    audience = values.get("audience", Audience.EVERYONE)
    if audience not in Audience.values:
        raise DealInvalid(
            _("The audience is one of: %(choices)s.") % {"choices": ", ".join(Audience.values)}, field="audience"
        )
    tiers = _clean_tiers(values.get("tiers"), currency=currency, group_price=group_price, low=low, high=high)
    variants = _clean_variants(product, values.get("variant_ids"))
    if not variants and not Variant.objects.filter(product=product, is_active=True).exists():
        raise DealInvalid(_("%(product)s has no variant for sale.") % {"product": product.title}, field="product_id")
    return _DealFields(
        group_price=group_price,
        min_members=low,
        max_members=high,
        fill_hours=fill,
        starts_at=starts_at,
        ends_at=ends_at,
        stock_allotted=stock,
        per_user_limit=limit,
        audience=str(audience),
        tiers=tiers,
        variants=variants,
    )


def _check_no_overlap(product: Product, fields: _DealFields, *, exclude: int | None = None) -> None:
    """One active deal at a time per product (the caller holds the product's lock, so two cannot both pass)."""
    others = GroupDeal.objects.filter(
        product=product, is_active=True, ends_at__gt=fields.starts_at, starts_at__lt=fields.ends_at
    )
    if exclude is not None:
        others = others.exclude(pk=exclude)
    other = others.first()
    if other is not None:
        raise DealInvalid(
            _("%(product)s already has a group deal from %(start)s to %(end)s; end it or choose another time.")
            % {
                "product": product.title,
                "start": timezone.localtime(other.starts_at).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(other.ends_at).strftime("%Y-%m-%d %H:%M"),
            },
            code="deal_overlaps",
            field="starts_at",
            deal_id=other.pk,
        )


def _write_tiers_and_variants(deal: GroupDeal, fields: _DealFields) -> None:
    DealTier.objects.filter(deal=deal).delete()
    DealTier.objects.bulk_create(DealTier(deal=deal, members=m, price=p) for m, p in fields.tiers)
    deal.variants.set(fields.variants)


def create_deal(
    *,
    actor: User,
    shop: Shop,
    product_id: int,
    group_price: object,
    ends_at: datetime,
    stock_allotted: object,
    min_members: object = 2,
    max_members: object | None = None,
    fill_hours: object = 24,
    tiers: Sequence[Mapping[str, Any]] | None = None,
    starts_at: datetime | None = None,
    per_user_limit: object = 1,
    audience: str = Audience.EVERYONE,
    variant_ids: Sequence[int] | None = None,
) -> GroupDeal:
    """A new group deal on one of the shop's products (MANAGE_DEALS). DealInvalid (422, with ``field``) says
    what to fix: prices, team sizes, tiers (up in size, down in price, below the group price), dates, stock."""
    require(actor, shop, ShopAction.MANAGE_DEALS)
    if isinstance(product_id, bool) or not isinstance(product_id, int) or not 0 < product_id <= MAX_ID:
        raise DealInvalid(_("Choose one of the shop's products."), field="product_id")
    with transaction.atomic():
        product = Product.objects.select_for_update().filter(pk=product_id, shop=shop).first()
        if product is None:
            raise DealInvalid(
                _("%(shop)s has no product %(id)s.") % {"shop": shop.name, "id": product_id}, field="product_id"
            )
        values = {
            "group_price": group_price,
            "ends_at": ends_at,
            "stock_allotted": stock_allotted,
            "min_members": min_members,
            "max_members": max_members,
            "fill_hours": fill_hours,
            "tiers": tiers,
            "starts_at": starts_at,
            "per_user_limit": per_user_limit,
            "audience": audience,
            "variant_ids": variant_ids,
        }
        fields = _clean_deal(shop=shop, product=product, values=values)
        _check_no_overlap(product, fields)
        deal = GroupDeal.objects.create(
            shop=shop,
            product=product,
            currency=shop.currency,
            group_price=fields.group_price,
            min_members=fields.min_members,
            max_members=fields.max_members,
            fill_hours=fields.fill_hours,
            starts_at=fields.starts_at,
            ends_at=fields.ends_at,
            stock_allotted=fields.stock_allotted,
            per_user_limit=fields.per_user_limit,
            audience=fields.audience,
            created_by=actor,
        )
        _write_tiers_and_variants(deal, fields)
    return deal


def update_deal(*, actor: User, deal: GroupDeal, **changes: Any) -> GroupDeal:
    """Change a deal (MANAGE_DEALS); the same fields and checks as ``create_deal``. The units cannot go below
    those already taken. Team sizes, the group price and tiers apply to teams started afterwards (a team copies
    its sizes and price at its start; its price never goes up)."""
    require(actor, deal.shop, ShopAction.MANAGE_DEALS)
    unknown = sorted(set(changes) - set(DEAL_FIELDS))
    if unknown:
        raise DealInvalid(
            _("Unknown field %(fields)s; a deal has: %(known)s.")
            % {"fields": ", ".join(unknown), "known": ", ".join(DEAL_FIELDS)},
            field=unknown[0],
        )
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=deal.product_id).first()
        locked = (
            GroupDeal.objects.select_for_update(no_key=True, of=("self",))
            .select_related("product", "shop")
            .get(pk=deal.pk)
        )
        values: dict[str, Any] = {
            "group_price": locked.group_price,
            "ends_at": locked.ends_at,
            "stock_allotted": locked.stock_allotted,
            "min_members": locked.min_members,
            "max_members": locked.max_members,
            "fill_hours": locked.fill_hours,
            "tiers": [{"members": t.members, "price": t.price} for t in locked.tiers.all()],
            "starts_at": locked.starts_at,
            "per_user_limit": locked.per_user_limit,
            "audience": locked.audience,
            "variant_ids": list(locked.variants.values_list("pk", flat=True)),
        }
        # Tiers the shop did not restate must still fit a new price or new sizes: they are checked again.
        values.update(changes)
        fields = _clean_deal(shop=locked.shop, product=locked.product, values=values, units_taken=locked.units_taken)
        if locked.is_active:
            _check_no_overlap(locked.product, fields, exclude=locked.pk)
        for name in (
            "group_price",
            "min_members",
            "max_members",
            "fill_hours",
            "starts_at",
            "ends_at",
            "stock_allotted",
            "per_user_limit",
            "audience",
        ):
            setattr(locked, name, getattr(fields, name))
        locked.save()
        _write_tiers_and_variants(locked, fields)
    return locked


def end_deal(*, actor: User, deal: GroupDeal) -> GroupDeal:
    """Stop new teams on the deal (MANAGE_DEALS). Running teams keep going until they succeed or expire."""
    require(actor, deal.shop, ShopAction.MANAGE_DEALS)
    GroupDeal.objects.filter(pk=deal.pk).update(is_active=False, updated_at=timezone.now())
    deal.refresh_from_db()
    return deal


# --- shoppers: starting and joining --------------------------------------------------------
def _deal_variant(deal: GroupDeal, variant_id: int | None) -> Variant:
    allowed = list(deal.variants.filter(is_active=True).order_by("pk"))
    if not allowed and not deal.variants.exists():
        allowed = list(Variant.objects.filter(product_id=deal.product_id, is_active=True).order_by("pk"))
    if variant_id is None:
        if len(allowed) == 1:
            return allowed[0]
        raise DealInvalid(_("Choose a variant (size, colour…) for your order."), field="variant_id")
    for variant in allowed:
        if variant.pk == variant_id:
            return variant
    raise DealInvalid(_("That variant is not part of this deal; choose one of those offered."), field="variant_id")


def _quantity(value: object, deal: GroupDeal) -> int:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise DealInvalid(_("The quantity must be a whole number of at least 1."), field="quantity")
    if value > deal.per_user_limit:
        raise LimitReached(
            _("This deal allows at most %(limit)d per shopper.") % {"limit": deal.per_user_limit},
            field="quantity",
            limit=deal.per_user_limit,
        )
    return value


def _check_live(deal: GroupDeal, now: datetime) -> None:
    if not deal.is_active:
        raise DealNotLive(_("The shop has ended this deal."), code="deal_ended")
    if deal.starts_at > now:
        raise DealNotLive(
            _("This deal starts on %(start)s.")
            % {"start": timezone.localtime(deal.starts_at).strftime("%Y-%m-%d %H:%M")},
            code="deal_not_started",
        )
    if deal.ends_at <= now:
        raise DealNotLive(_("This deal is over."), code="deal_over")


def _check_units(deal: GroupDeal, quantity: int) -> None:
    left = deal.stock_allotted - deal.units_taken
    if left <= 0:
        raise DealNotLive(_("This deal has no units left."), code="deal_sold_out")
    if quantity > left:
        raise DealNotLive(
            _("Only %(count)d left in this deal; you asked for %(quantity)d.") % {"count": left, "quantity": quantity},
            code="deal_sold_out",
            field="quantity",
            available=left,
        )


def _units_held(user: User, deal_id: int) -> int:
    held = TeamMember.objects.filter(team__deal_id=deal_id, user=user, status__in=HOLDING).aggregate(s=Sum("quantity"))[
        "s"
    ]
    return int(held or 0)


def _check_limit(user: User, deal: GroupDeal, quantity: int) -> None:
    held = _units_held(user, deal.pk)
    if held + quantity > deal.per_user_limit:
        raise LimitReached(
            _("This deal allows %(limit)d per shopper and you already hold %(held)d in its teams.")
            % {"limit": deal.per_user_limit, "held": held},
            field="quantity",
            limit=deal.per_user_limit,
            held=held,
        )


def _check_joinable(team: Team, user: User, now: datetime) -> None:
    """Status, clock, seats and duplicates (the caller holds the team's lock when it matters)."""
    if team.status == T.PENDING:
        raise TeamClosed(_("This team is still starting; try again in a minute."), code="team_pending")
    if team.status in (T.FAILED, T.CANCELLED):
        raise TeamClosed(_("This team has closed: it did not fill in time."), code="team_failed")
    if team.expires_at is not None and team.expires_at <= now:
        raise TeamClosed(_("This team's time is up."), code="team_expired")
    holding = TeamMember.objects.filter(team=team, user=user, status__in=HOLDING).first()
    if holding is not None:
        if holding.is_leader:
            raise AlreadyInTeam(_("You started this team: share its link so others can join."))
        raise AlreadyInTeam(_("You are already in this team."))
    if team.seats_taken >= team.max_members:
        raise TeamClosed(_("This team is full. Start your own team or join another one."), code="team_full")


def _check_new_customers(deal: GroupDeal, team: Team, *, new_customer: bool) -> None:
    """The last free seat of a "new customers only" team is kept for a new customer while it has none."""
    if deal.audience != Audience.NEW_CUSTOMERS or new_customer:
        return
    if team.seats_taken + 1 < team.max_members:
        return
    if TeamMember.objects.filter(team=team, status__in=HOLDING, is_new_customer=True).exists():
        return
    raise NewCustomersOnly(
        _("The last place in this team is for someone placing their first order. Invite a friend who is new here.")
    )


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def _create_team(deal: GroupDeal, leader: User, now: datetime) -> Team:
    for _attempt in range(8):
        try:
            # A savepoint: a clash of codes must not abort the order's transaction.
            with transaction.atomic():
                return Team.objects.create(
                    deal=deal,
                    code=_new_code(),
                    leader=leader,
                    status=T.PENDING,
                    min_members=deal.min_members,
                    max_members=deal.max_members,
                    unit_price=deal.group_price,
                    currency=deal.currency,
                    created_at=now,
                )
        except IntegrityError:
            continue
    raise DomainError(_("Could not make a team code; try again."), code="team_code_clash")


def _take_place(
    *,
    team: Team,
    deal_id: int,
    user: User,
    variant: Variant,
    quantity: int,
    order: Order,
    price: Decimal,
    is_leader: bool,
    new_customer: bool,
) -> TeamMember:
    """Under the team's lock: lock the deal, take its units and a seat, and write the member. A new team needs
    a live deal; joining a running team only needs units left (a team keeps going when its deal ends)."""
    deal = GroupDeal.objects.select_for_update(no_key=True).get(pk=deal_id)
    if is_leader:
        _check_live(deal, timezone.now())
    _check_units(deal, quantity)
    _check_limit(user, deal, quantity)
    if not GroupDeal.objects.filter(pk=deal.pk, units_taken__lte=F("stock_allotted") - quantity).update(
        units_taken=F("units_taken") + quantity, updated_at=timezone.now()
    ):
        raise DealNotLive(_("This deal has no units left."), code="deal_sold_out")
    if not Team.objects.filter(pk=team.pk, seats_taken__lt=F("max_members")).update(seats_taken=F("seats_taken") + 1):
        raise TeamClosed(_("This team is full. Start your own team or join another one."), code="team_full")
    return TeamMember.objects.create(
        team=team,
        user=user,
        variant=variant,
        quantity=quantity,
        order=order,
        status=M.PAYING,
        is_leader=is_leader,
        is_new_customer=new_customer,
        authorised_price=price,
    )


def start_team(
    *,
    actor: User,
    deal: GroupDeal,
    variant_id: int | None,
    quantity: object = 1,
    address: Mapping[str, Any],
    payment_method: str,
    delivery_method_id: int | None = None,
) -> TeamMember:
    """Start a team: check out one item at the group price, the payment only authorised. Returns the leader's
    membership (``member.team``): AUTHORISED with the team OPEN (its clock running) when the card approved,
    PAYING while the shopper still confirms (Stripe). DealNotLive, DealInvalid, LimitReached, PaymentDeclined
    (402: the team is cancelled, nothing held) and the checkout's own errors."""
    actor = _require_user(actor)
    now = timezone.now()
    deal = GroupDeal.objects.get(pk=deal.pk)
    _check_live(deal, now)
    variant = _deal_variant(deal, variant_id)
    count = _quantity(quantity, deal)
    _check_units(deal, count)
    _check_limit(actor, deal, count)
    new_customer = order_selectors.bought_order_count(actor) == 0
    price = deal.group_price
    grace = timedelta(minutes=int(settings.AGORA_TEAM_GRACE_MINUTES))
    made: dict[str, int] = {}

    def claim(checkout: Checkout, order: Order) -> None:
        # The variant is locked; the new team is ours alone, then the deal (Variant → Team → GroupDeal).
        team = _create_team(deal, actor, now)
        member = _take_place(
            team=team,
            deal_id=deal.pk,
            user=actor,
            variant=variant,
            quantity=count,
            order=order,
            price=price,
            is_leader=True,
            new_customer=new_customer,
        )
        made["member"] = member.pk

    orders.place_direct_checkout(
        actor=actor,
        variant_id=variant.pk,
        quantity=count,
        unit_price=price,
        address=address,
        payment_method=payment_method,
        delivery_method_id=delivery_method_id,
        capture=False,
        reserved_until=now + timedelta(hours=deal.fill_hours) + grace,
        price_note=_("Team price"),
        purpose="team",
        claim=claim,
    )
    return confirm_member(made["member"])


def join_team(
    *,
    actor: User,
    team: Team,
    variant_id: int | None,
    quantity: object = 1,
    address: Mapping[str, Any],
    payment_method: str,
    delivery_method_id: int | None = None,
) -> TeamMember:
    """Join a team at its current price, the payment only authorised (captured when the team succeeds, at once
    when it already has). TeamClosed (full, expired, failed, cancelled, still starting), AlreadyInTeam,
    LimitReached, NewCustomersOnly, DealNotLive (no units left), PaymentDeclined (402: the seat is given back)."""
    actor = _require_user(actor)
    now = timezone.now()
    team = Team.objects.select_related("deal").get(pk=team.pk)
    deal = team.deal
    _check_joinable(team, actor, now)
    variant = _deal_variant(deal, variant_id)
    count = _quantity(quantity, deal)
    _check_units(deal, count)
    _check_limit(actor, deal, count)
    new_customer = order_selectors.bought_order_count(actor) == 0
    _check_new_customers(deal, team, new_customer=new_customer)
    price = team.unit_price
    grace = timedelta(minutes=int(settings.AGORA_TEAM_GRACE_MINUTES))
    assert team.expires_at is not None  # an open or succeeded team has its clock
    made: dict[str, int] = {}

    def claim(checkout: Checkout, order: Order) -> None:
        # Variant (locked by orders) → Team → GroupDeal; everything is checked again under the locks.
        locked = Team.objects.select_for_update(no_key=True).get(pk=team.pk)
        _check_joinable(locked, actor, timezone.now())
        _check_new_customers(deal, locked, new_customer=new_customer)
        member = _take_place(
            team=locked,
            deal_id=deal.pk,
            user=actor,
            variant=variant,
            quantity=count,
            order=order,
            price=price,
            is_leader=False,
            new_customer=new_customer,
        )
        made["member"] = member.pk

    try:
        orders.place_direct_checkout(
            actor=actor,
            variant_id=variant.pk,
            quantity=count,
            unit_price=price,
            address=address,
            payment_method=payment_method,
            delivery_method_id=delivery_method_id,
            capture=False,
            reserved_until=team.expires_at + grace,
            price_note=_("Team price"),
            purpose="team",
            claim=claim,
        )
    except IntegrityError:
        # The database's own guard (one holding membership per person and team) caught a double submit.
        raise AlreadyInTeam(_("You are already in this team.")) from None
    member = confirm_member(made["member"])
    if member.status == M.RELEASED:
        raise TeamClosed(
            _("The team closed while your payment was being authorised; the authorisation was released."),
            code="team_expired",
        )
    return member


# --- a member's payment settled ------------------------------------------------------------
@dataclass
class _Notice:
    recipient_ids: list[int]
    kind: str
    # Message ids (marked with gettext_noop), translated for each recipient and filled with ``params``.
    title: str
    body: str
    url: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    actor_id: int | None = None
    email: bool = False
    dedupe: str = ""


def _send(notices: Sequence[_Notice]) -> None:
    """Notifications in each recipient's language (after the team's lock is released), all in one go."""
    if not notices:
        return
    ids = {pk for n in notices for pk in n.recipient_ids} | {n.actor_id for n in notices if n.actor_id}
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    batch: list[Notice] = []
    for notice in notices:
        actor = users.get(notice.actor_id) if notice.actor_id else None
        for pk in notice.recipient_ids:
            user = users.get(pk)
            if user is None:
                continue
            with translation.override(user.language or settings.LANGUAGE_CODE):
                batch.append(
                    Notice(
                        user,
                        notice.kind,
                        title=_(notice.title) % notice.params,
                        body=_(notice.body) % notice.params,
                        url=notice.url,
                        actor=actor,
                        email=notice.email,
                        dedupe_key=f"{notice.dedupe}:{pk}" if notice.dedupe else "",
                    )
                )
    notify_many(batch)


def _counted_ids(team: Team) -> list[int]:
    return list(TeamMember.objects.filter(team=team, status__in=COUNTED).values_list("user_id", flat=True))


def _succeeds(team: Team, deal: GroupDeal) -> bool:
    if team.members_count < team.min_members:
        return False
    if deal.audience != Audience.NEW_CUSTOMERS:
        return True
    return TeamMember.objects.filter(team=team, status__in=COUNTED, is_new_customer=True).exists()


def _fail_locked(team: Team, now: datetime) -> None:
    team.status, team.closed_at = T.FAILED, now
    Team.objects.filter(pk=team.pk).update(status=T.FAILED, closed_at=now)


def confirm_member(member_id: int) -> TeamMember:
    """The member's payment settled: if authorised, the member counts (the team opens, its price may drop to a
    tier, it may succeed) and a succeeded team is settled; if the team failed or its clock ran out meanwhile, the
    order is cancelled and the authorisation voided. Idempotent; call it outside any transaction."""
    member = TeamMember.objects.select_related("order").get(pk=member_id)
    if member.status != M.PAYING or member.order is None:
        return member
    payment = order_selectors.authorised_payment_of(member.order)
    if payment is None or payment.status != PaymentStatus.AUTHORIZED:
        # Still being paid (the shopper confirms), or declined: orders cancels it and the receiver releases it.
        return member
    notices: list[_Notice] = []
    settle = cancel = failed = False
    with transaction.atomic():
        team = Team.objects.select_for_update(no_key=True, of=("self",)).select_related("deal").get(pk=member.team_id)
        member = TeamMember.objects.select_for_update(of=("self",)).select_related("order", "user").get(pk=member_id)
        if member.status != M.PAYING:
            return member
        now = timezone.now()
        deal = team.deal
        expired = team.expires_at is not None and team.expires_at <= now
        url = team_url(team)
        if team.status in (T.PENDING, T.OPEN, T.SUCCEEDED) and not expired:
            member.status, member.authorised_at = M.AUTHORISED, now
            member.save(update_fields=["status", "authorised_at"])
            team.members_count += 1
            updates: dict[str, Any] = {"members_count": F("members_count") + 1}
            if team.status == T.PENDING:
                team.status, team.started_at = T.OPEN, now
                team.expires_at = now + timedelta(hours=deal.fill_hours)
                updates.update(status=T.OPEN, started_at=now, expires_at=team.expires_at)
            # The price never goes up: members authorised at the old one are captured at most at that.
            price = min(team.unit_price, price_for(deal, team.members_count))
            if price != team.unit_price:
                team.unit_price = updates["unit_price"] = price
            just_succeeded = team.status == T.OPEN and _succeeds(team, deal)
            if just_succeeded:
                team.status, team.succeeded_at = T.SUCCEEDED, now
                updates.update(status=T.SUCCEEDED, succeeded_at=now)
            announce_last = (
                team.max_members - team.seats_taken == 1
                and team.last_place_announced_at is None
                and team.status in (T.OPEN, T.SUCCEEDED)
            )
            if announce_last:
                updates["last_place_announced_at"] = now
            Team.objects.filter(pk=team.pk).update(**updates)
            settle = team.status == T.SUCCEEDED
            counted = _counted_ids(team)
            others = [pk for pk in counted if pk != member.user_id]
            name = member.user.public_name
            code = team.code
            if not member.is_leader and others:
                notices.append(
                    _Notice(
                        others,
                        "team_joined",
                        gettext_noop("%(name)s joined your team"),
                        gettext_noop("Team %(code)s now has %(count)d members."),
                        url,
                        {"name": name, "code": code, "count": len(counted)},
                        actor_id=member.user_id,
                        email=True,
                    )
                )
            if just_succeeded:
                amount = _money(team.unit_price, team.currency)
                notices.append(
                    _Notice(
                        counted,
                        "team_succeeded",
                        gettext_noop("Your team %(code)s is complete!"),
                        gettext_noop("You pay the team price of %(price)s each; your order is being confirmed."),
                        url,
                        {"code": code, "price": amount},
                        email=True,
                        dedupe=f"team_succeeded:{team.pk}",
                    )
                )
            if announce_last:
                notices.append(
                    _Notice(
                        counted,
                        "team_last_place",
                        gettext_noop("One place left in team %(code)s"),
                        gettext_noop("Share the link: one more person and the team is complete."),
                        url,
                        {"code": code},
                        email=True,
                        dedupe=f"team_last_place:{team.pk}",
                    )
                )
        else:
            if team.status in (T.PENDING, T.OPEN):
                # The clock ran out before this payment arrived: the team can never succeed any more.
                _fail_locked(team, now)
                failed = True
            cancel = True
    if cancel:
        assert member.order is not None
        orders.cancel_placed_order(
            member.order, note=_("The team closed before your payment was authorised."), notify_buyer=False
        )
        if failed:
            # Failed here rather than by the sweep: the other members are released now, like the sweep does.
            _after_failure([team])
        member.refresh_from_db()
        return member
    _send(notices)
    if settle:
        _enqueue_settle(team.pk)
    member.refresh_from_db()
    return member


def _enqueue_settle(team_id: int) -> None:
    from agora.groupbuy import tasks

    try:
        tasks.settle_team.delay(team_id)
    except (OSError, KombuError):
        # The broker is away: the sweep settles teams left with authorised members.
        logger.warning("groupbuy: could not enqueue the settlement of team %s", team_id, exc_info=True)
    except DatabaseError:
        # Run in-process (no worker) and beaten by a concurrent settlement (a deadlock victim, no free connection):
        # every step is idempotent and the sweep finishes it. The member's join itself is committed and stands.
        logger.warning("groupbuy: the settlement of team %s is left to the sweep", team_id, exc_info=True)


def member_ids_for_payment(payment: Payment) -> list[int]:
    """Members still paying with ``payment`` (a team checkout's current payment)."""
    return list(
        TeamMember.objects.filter(
            status=M.PAYING, order__checkout__payment_id=payment.pk, order__checkout__purpose="team"
        ).values_list("pk", flat=True)
    )


# --- a member leaves (the order closed unpaid) ---------------------------------------------
def release_members_for_orders(*, orders: Sequence[Order], status: str = "", by_system: bool = True) -> int:
    """Orders closed unpaid (declined, cancelled by the buyer, expired, the team failed): their members leave
    their teams, the seats and the deals' units come back; a starting team whose leader leaves is cancelled. Runs
    inside the orders' transaction (``order_closed_unpaid``). Returns how many members left.

    A buyer or the shop's staff (``by_system=False``) cannot cancel the order of a member whose team succeeded
    and is being charged (TeamOrderCharging, which rolls the cancel back): the team's price was promised for
    its members; once the order is paid, it can be cancelled or refunded like any other."""
    found = list(
        TeamMember.objects.filter(order_id__in=[o.pk for o in orders], status__in=HOLDING).values_list("pk", "team_id")
    )
    if not found:
        return 0
    # Teams, members, then deals, each in id order (a join takes variant, team, deal: the same order).
    teams = {
        t.pk: t
        for t in Team.objects.select_for_update(no_key=True).filter(pk__in={t for _m, t in found}).order_by("pk")
    }
    members = list(
        TeamMember.objects.select_for_update().filter(pk__in=[m for m, _t in found], status__in=HOLDING).order_by("pk")
    )
    if not members:
        return 0
    if not by_system:
        for member in members:
            if member.status in (M.AUTHORISED, M.CAPTURING) and teams[member.team_id].status == T.SUCCEEDED:
                raise TeamOrderCharging(
                    _(
                        "Team %(code)s is complete and your order is being charged at the team price. Once it is "
                        "paid (in a moment) you can cancel it or ask for a refund."
                    )
                    % {"code": teams[member.team_id].code}
                )
    now = timezone.now()
    reason = _("The order was not paid in time.") if status == OrderStatus.EXPIRED else _("The order was cancelled.")
    TeamMember.objects.filter(pk__in=[m.pk for m in members]).update(
        status=M.RELEASED, released_at=now, release_reason=reason[:200]
    )
    seats: dict[int, int] = defaultdict(int)
    counted: dict[int, int] = defaultdict(int)
    units: dict[int, int] = defaultdict(int)
    leaving_leaders: set[int] = set()
    for member in members:
        team = teams[member.team_id]
        seats[team.pk] += 1
        counted[team.pk] += member.status in COUNTED
        units[team.deal_id] += member.quantity
        if team.status == T.PENDING and member.is_leader:
            leaving_leaders.add(team.pk)
    # One update per distinct change: the teams of a sweep mostly share one.
    changes: dict[tuple[int, int, bool], list[int]] = defaultdict(list)
    for team_id, taken in seats.items():
        changes[(taken, counted[team_id], team_id in leaving_leaders)].append(team_id)
    for (taken, counts, cancelled), team_ids in changes.items():
        updates: dict[str, Any] = {"seats_taken": F("seats_taken") - taken}
        if counts:
            updates["members_count"] = F("members_count") - counts
        if cancelled:
            updates.update(status=T.CANCELLED, closed_at=now)
        Team.objects.filter(pk__in=team_ids).update(**updates)
    list(GroupDeal.objects.select_for_update(no_key=True).filter(pk__in=list(units)).order_by("pk").values_list("pk"))
    by_quantity: dict[int, list[int]] = defaultdict(list)
    for deal_id, quantity in units.items():
        by_quantity[quantity].append(deal_id)
    for quantity, deal_ids in by_quantity.items():
        GroupDeal.objects.filter(pk__in=deal_ids, units_taken__gte=quantity).update(
            units_taken=F("units_taken") - quantity, updated_at=now
        )
    return len(members)


# --- settling a succeeded team -------------------------------------------------------------
def _checkout_payment(order: Order) -> Payment | None:
    payment_id = Checkout.objects.filter(pk=order.checkout_id).values_list("payment_id", flat=True).first()
    return Payment.objects.filter(pk=payment_id).first() if payment_id else None


def _captured(member: TeamMember, order: Order) -> None:
    price = order.lines.values_list("unit_price", flat=True).first()  # type: ignore[attr-defined]
    TeamMember.objects.filter(pk=member.pk, status=M.CAPTURING).update(
        status=M.CAPTURED, charged_price=price, captured_at=order.paid_at or timezone.now()
    )


def _settle_member(member_id: int, *, reprice: bool = True) -> None:
    """Capture a member moved to CAPTURING (by us, or left there by a crash: capture is idempotent).

    A retry (``reprice=False``) captures at the order's current price: it may run while the first worker is
    capturing, and must not change the order under it; the refund pass gives back any difference."""
    member = TeamMember.objects.select_related("order", "team").get(pk=member_id)
    order = member.order
    if member.status != M.CAPTURING or order is None:
        return
    order.refresh_from_db()
    if order.status == OrderStatus.PLACED:
        payment = _checkout_payment(order)
        if payment is not None and payment.status in UNSETTLED:
            try:
                payment = payments.reconcile_payment(payment=payment)
                orders.apply_payment(payment)
            except DomainError:
                logger.warning("groupbuy: payment %s of member %s is unknown", payment.pk, member.pk, exc_info=True)
                return
            order.refresh_from_db()
        if order.status == OrderStatus.PLACED and payment is not None and payment.status == PaymentStatus.AUTHORIZED:
            team = Team.objects.get(pk=member.team_id)
            try:
                if reprice:
                    orders.reprice_placed_order(
                        order,
                        unit_price=team.unit_price,
                        note=_("Team price reached: %(price)s each")
                        % {"price": _money(team.unit_price, team.currency)},
                    )
                order = orders.capture_placed_order(order)
            except DomainError as exc:
                logger.warning("groupbuy: capture of member %s failed: %s", member.pk, exc.message)
                payment.refresh_from_db()
                order.refresh_from_db()
                if order.status == OrderStatus.PLACED and payment.status == PaymentStatus.AUTHORIZED:
                    return  # still authorised: the sweep tries again
        elif order.status == OrderStatus.PLACED and payment is not None and payment.status in PAID:
            orders.apply_payment(payment)
        order.refresh_from_db()
        if order.status == OrderStatus.PLACED:
            payment = _checkout_payment(order)
            if payment is None or payment.status in (PaymentStatus.FAILED, PaymentStatus.VOIDED):
                # The authorisation is gone: the member leaves the team (the receiver releases the seat).
                orders.cancel_placed_order(order, note=_("The payment could not be charged."), notify_buyer=False)
                _send(
                    [
                        _Notice(
                            [member.user_id],
                            "team_payment_failed",
                            gettext_noop("We could not charge your team order"),
                            gettext_noop("Your card's authorisation was no longer valid, so you left the team."),
                            team_url(member.team),
                            email=True,
                        )
                    ]
                )
                return
    if order.paid_at is not None:
        _captured(member, order)


def _refund_difference(member_id: int) -> None:
    """A member charged more than the team's price now (a tier was reached later) gets the difference back.

    In one short transaction, under the member's row lock, the refund is written down (pending, keyed per member
    and price) and the member's charged price lowered: two settlements seeing different tier prices take turns,
    so the second one refunds only what the first did not (never 15→13 and 15→12 both). The gateway is called
    after the commit, with no lock held; a refund left pending is completed by the orders' periodic task.
    """
    with transaction.atomic():
        member = TeamMember.objects.select_for_update(of=("self",)).select_related("order").get(pk=member_id)
        price, currency = Team.objects.filter(pk=member.team_id).values_list("unit_price", "currency").get()
        order = member.order
        if member.status != M.CAPTURED or order is None or member.charged_price is None:
            return
        if member.charged_price <= price:
            return
        order.refresh_from_db()
        left = order.total - order.refunded_amount
        amount = min((member.charged_price - price) * member.quantity, left)
        record = None
        if amount > 0 and order.status not in (OrderStatus.REFUNDED, OrderStatus.RETURNED):
            try:
                record = orders.prepare_price_difference_refund(
                    order,
                    amount=amount,
                    idempotency_key=f"team-tier:{member.pk}:{price}",
                    note=_("Your team reached a lower price: %(price)s each") % {"price": _money(price, currency)},
                )
            except DomainError as exc:
                logger.warning("groupbuy: tier refund of member %s was refused: %s", member.pk, exc.message)
                return
        TeamMember.objects.filter(pk=member.pk, charged_price=member.charged_price).update(charged_price=price)
    if record is not None and record.status == RefundRecord.PENDING:
        try:
            done = orders.complete_refund(record)
        except DomainError as exc:
            # Refused by the gateway (left for the operator, logged); a pending one is retried by orders' task.
            logger.error("groupbuy: tier refund of member %s failed: %s", member.pk, exc.message)
            return
        if done.status == RefundRecord.FAILED:
            logger.error("groupbuy: tier refund of member %s was refused by the gateway", member.pk)


def settle_team(team_id: int) -> None:
    """Capture the authorised members of a succeeded team at its price, and refund the difference to members
    charged more than it. Idempotent and safe to run twice at once: each member moves AUTHORISED → CAPTURING
    with a conditional update (one worker wins), captures are idempotent, refunds are keyed per member and
    price. No lock is held while the gateway is called."""
    team = Team.objects.filter(pk=team_id).first()
    if team is None or team.status != T.SUCCEEDED:
        return
    for member_id in TeamMember.objects.filter(team=team, status=M.AUTHORISED).values_list("pk", flat=True):
        if TeamMember.objects.filter(pk=member_id, status=M.AUTHORISED).update(status=M.CAPTURING):
            _settle_member(member_id)
    team.refresh_from_db()
    for member_id in TeamMember.objects.filter(
        team=team, status=M.CAPTURED, charged_price__gt=team.unit_price
    ).values_list("pk", flat=True):
        _refund_difference(member_id)


def _retry_capturing(team_ids: Sequence[int]) -> None:
    for member_id in TeamMember.objects.filter(team_id__in=team_ids, status=M.CAPTURING).values_list("pk", flat=True):
        _settle_member(member_id, reprice=False)


# --- the sweep -----------------------------------------------------------------------------
def _due(now: datetime) -> Q:
    grace = timedelta(minutes=int(settings.AGORA_TEAM_GRACE_MINUTES))
    # A team stuck starting (its leader never finished paying) is closed after the longest fill time allowed.
    stuck = now - grace - timedelta(hours=int(settings.AGORA_TEAM_MAX_FILL_HOURS))
    return Q(status__in=[T.OPEN, T.PENDING], expires_at__lte=now) | Q(
        status=T.PENDING, expires_at__isnull=True, created_at__lte=stuck
    )


def _close_members(teams: Sequence[Team], note: str) -> dict[int, list[int]]:
    """Cancel the orders of the teams' holding members in one transaction (each authorisation is voided once,
    after the commit); the user ids of those members, per team."""
    rows = list(
        TeamMember.objects.filter(team__in=[t.pk for t in teams], status__in=HOLDING)
        .order_by("pk")
        .values_list("team_id", "user_id", "order_id")
    )
    users: dict[int, list[int]] = defaultdict(list)
    for team_id, user_id, _order_id in rows:
        users[team_id].append(user_id)
    order_ids = [order_id for _t, _u, order_id in rows if order_id is not None]
    # The team's own message tells the members: no second "order cancelled" notice for the same event.
    cancelled = set(orders.cancel_placed_orders(order_ids, note=note, notify_buyer=False))
    left = [pk for pk in order_ids if pk not in cancelled]
    if left:
        # Orders closed without their member leaving (cannot happen through orders; kept as a safety net).
        stale = list(Order.objects.filter(pk__in=left, paid_at__isnull=True).exclude(status=OrderStatus.PLACED))
        with transaction.atomic():
            for status in sorted({o.status for o in stale}):
                release_members_for_orders(orders=[o for o in stale if o.status == status], status=status)
    return users


def _after_failure(teams: Sequence[Team]) -> None:
    """After the commit that closed the teams (no lock held): every member's order cancelled, the members of the
    failed ones told (a team cancelled before it started has nobody else to tell)."""
    users = _close_members(teams, note=_("The team did not fill in time."))
    _send(
        [
            _Notice(
                users[team.pk],
                "team_failed",
                gettext_noop("Team %(code)s did not fill in time"),
                gettext_noop("Nothing was charged: your payment's authorisation was released."),
                team_url(team),
                {"code": team.code},
                email=True,
                dedupe=f"team_failed:{team.pk}",
            )
            for team in teams
            if team.status == T.FAILED and users.get(team.pk)
        ]
    )


def expire_due_teams(*, now: datetime | None = None) -> int:
    """Fail open (and stuck starting) teams whose clock ran out; their members' orders are cancelled and the
    authorisations voided, the members notified. Returns how many teams failed. Safe to run twice at once: a
    team is failed under a skip-locked row lock by one run only, and an order is cancelled (and its payment
    voided) by one caller only. Teams are closed AGORA_TEAM_SWEEP_CHUNK at a time: one transaction fails them,
    one cancels their orders, one task voids their payments, and their members are told together."""
    now = now or timezone.now()
    batch = int(settings.AGORA_TEAM_SWEEP_BATCH)
    chunk = max(int(settings.AGORA_TEAM_SWEEP_CHUNK), 1)
    failed = 0
    last = 0
    while True:
        # Keyset pages: a team skipped because another run holds it is that run's (or the next sweep's).
        ids = list(Team.objects.filter(_due(now), pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        last = ids[-1]
        for start in range(0, len(ids), chunk):
            with transaction.atomic():
                teams = list(
                    Team.objects.select_for_update(skip_locked=True, no_key=True)
                    .filter(pk__in=ids[start : start + chunk])
                    .filter(_due(now))
                    .order_by("pk")
                )
                if not teams:
                    continue  # another run has them (or they succeeded meanwhile)
                for team in teams:
                    never_started = team.status == T.PENDING and team.started_at is None
                    team.status, team.closed_at = (T.CANCELLED if never_started else T.FAILED), now
                for status in (T.CANCELLED, T.FAILED):
                    Team.objects.filter(pk__in=[t.pk for t in teams if t.status == status]).update(
                        status=status, closed_at=now
                    )
            failed += len(teams)
            _after_failure(teams)
        if len(ids) < batch:
            break
    return failed


def send_reminders(*, now: datetime | None = None) -> int:
    """Remind the members of open teams that expire within AGORA_TEAM_REMINDER_MINUTES, once per team."""
    now = now or timezone.now()
    soon = now + timedelta(minutes=int(settings.AGORA_TEAM_REMINDER_MINUTES))
    reminded = 0
    for team in Team.objects.filter(
        status=T.OPEN, reminded_at__isnull=True, expires_at__gt=now, expires_at__lte=soon
    ).order_by("pk")[: int(settings.AGORA_TEAM_SWEEP_BATCH)]:
        if not Team.objects.filter(pk=team.pk, reminded_at__isnull=True).update(reminded_at=now):
            continue  # another run reminded them
        reminded += 1
        needed = max(team.min_members - team.members_count, 1)
        minutes = max(int((team.expires_at - now).total_seconds() // 60), 1) if team.expires_at else 0
        _send(
            [
                _Notice(
                    _counted_ids(team),
                    "team_reminder",
                    gettext_noop("Team %(code)s closes in %(minutes)d minutes"),
                    gettext_noop("%(count)d more needed: share the link before time runs out."),
                    team_url(team),
                    {"code": team.code, "minutes": minutes, "count": needed},
                    email=True,
                    dedupe=f"team_reminder:{team.pk}",
                )
            ]
        )
    return reminded


def release_stragglers() -> int:
    """Members still holding a place in a failed or cancelled team (a run stopped halfway): orders cancelled."""
    team_ids = list(
        TeamMember.objects.filter(team__status__in=[T.FAILED, T.CANCELLED], status__in=HOLDING)
        .order_by("team_id")
        .values_list("team_id", flat=True)
        .distinct()[: int(settings.AGORA_TEAM_SWEEP_BATCH)]
    )
    teams = list(Team.objects.filter(pk__in=team_ids).order_by("pk"))
    chunk = max(int(settings.AGORA_TEAM_SWEEP_CHUNK), 1)
    released = 0
    for start in range(0, len(teams), chunk):
        users = _close_members(teams[start : start + chunk], note=_("The team did not fill in time."))
        released += sum(len(ids) for ids in users.values())
    return released


def settle_stragglers() -> int:
    """Succeeded teams with members left to capture or to refund (a worker stopped, a gateway did not answer)."""
    team_ids = list(
        TeamMember.objects.filter(team__status=T.SUCCEEDED)
        .filter(
            Q(status__in=[M.AUTHORISED, M.CAPTURING]) | Q(status=M.CAPTURED, charged_price__gt=F("team__unit_price"))
        )
        .order_by("team_id")
        .values_list("team_id", flat=True)
        .distinct()[: int(settings.AGORA_TEAM_SWEEP_BATCH)]
    )
    _retry_capturing(team_ids)
    for team_id in team_ids:
        settle_team(team_id)
    return len(team_ids)


def confirm_stragglers() -> int:
    """Members still paying whose payment is authorised (the confirmation after the payment was lost)."""
    ids = list(
        TeamMember.objects.filter(
            status=M.PAYING, order__checkout__payment__status=PaymentStatus.AUTHORIZED
        ).values_list("pk", flat=True)[: int(settings.AGORA_TEAM_SWEEP_BATCH)]
    )
    for member_id in ids:
        confirm_member(member_id)
    return len(ids)


def sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Everything the clock does (Celery beat every 30 s): fail expired teams, remind, finish what was left."""
    return {
        "confirmed": confirm_stragglers(),
        "failed": expire_due_teams(now=now),
        "released": release_stragglers(),
        "reminded": send_reminders(now=now),
        "settled": settle_stragglers(),
    }
