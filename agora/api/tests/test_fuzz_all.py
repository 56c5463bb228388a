"""Schemathesis against every operation of /api/v1/, signed in as a user who has data, in-process.

The caller owns a shop (products, a photo, delivery zones and methods, staff, an invitation, an order to
ship), has bought from another shop, has a cart, posts with a poll and comments, follows and is followed, has a
follow request, a block, a share link and notifications. A generated request whose path has parameters is sent
twice: once as generated (odd ids and slugs: NUL, huge numbers, unknown names) and once with the path pointing
at the caller's real objects (and, every other time, the query naming real ones), so that the generated bodies
and queries reach the business rules.

Every answer must be a documented status with a body that matches the schema, never a 500, and schema-valid
input must not be refused by the API's input validation (the document and the code agree). The suite runs on
SQLite and on PostgreSQL, which refuses NUL characters and out-of-range integers that SQLite accepts.

The data is built once for the module inside a transaction that is rolled back at the end; each request runs in
a savepoint that is rolled back after it, so every example sees the same world (a deleted shop, a revoked token
or a cancelled order do not leak into the next request).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, settings
from pydantic import BaseModel
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

from agora.accounts.services import issue_token
from agora.accounts.tests.factories import UserFactory
from agora.api.tests.test_fuzz import _keep_the_test_connection  # noqa: F401  (autouse fixture)
from agora.catalog import services as catalog
from agora.catalog.tests.factories import CategoryFactory
from agora.groupbuy.tests.factories import group_deal, start
from agora.notifications.services import notify
from agora.orders.tests.factories import buy, cart_with, selling_shop, variant_for_sale
from agora.promotions.tests.factories import flash_deal
from agora.shipping.models import DeliveryMethod
from agora.shops import services as shops
from agora.shops.models import Membership, Role
from agora.shops.tests.factories import shop_with_owner
from agora.social import services as social
from agora.social.models import FollowRequest
from conftest import make_image_bytes

# What agora.api.schemas answers for NUL in any text.
NUL_REFUSED = "Text cannot contain NUL characters."

app = WSGIHandler()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

# Every operation, signed in, none left out. Not even sign-out and token revocation: each request is rolled
# back, so revoking the fuzzing token (or changing the password) does not sign out the requests that follow.
everything = schema

FUZZ = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# The path parameters of the API that ``_build_world`` gives real values for.
WORLD_PARAMETERS = (
    "slug", "username", "product_id", "image_id", "variant_id", "zone_id", "method_id", "user_id", "invitation_id",
    "token", "token_id", "public_id", "number", "notification_id", "post_id", "comment_id", "code", "poll_id", "tag",
    "deal_id", "flash_deal_id",
)  # fmt: skip


# Query parameters that name real things, and what they are in ``_build_world``: every other request with a
# real path gets these too (the others keep their generated values).
REAL_QUERY = {"country": "LV", "shop": "fuzz-shop", "category": "scarves", "tag": "linen", "subtotal": "20.00"}


@dataclass
class World:
    token: str
    # Path parameter → real values to point at, by path prefix when one name means different objects.
    params: dict[str, list[Any]] = field(default_factory=dict)
    by_path: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    turn: Iterator[int] = field(default_factory=itertools.count)

    def real(self, case: schemathesis.Case) -> tuple[dict[str, Any], dict[str, Any]]:
        """Real path parameters for ``case`` (taking turns among the candidates), and real query values."""
        i = next(self.turn)
        path = {}
        for name in case.path_parameters:
            choices = next(
                (v for (prefix, n), v in self.by_path.items() if n == name and case.operation.path.startswith(prefix)),
                self.params[name],
            )
            path[name] = choices[i % len(choices)]
        known = {p.name for p in case.operation.query} & set(REAL_QUERY)
        query = {name: REAL_QUERY[name] for name in known} if i % 2 else {}
        return path, query


def _build_world() -> World:
    me = UserFactory(username="fuzzer")
    shop, _ = selling_shop(slug="fuzz-shop")
    Membership.objects.filter(shop=shop).update(user=me)
    other_shop, seller = selling_shop(slug="other-shop")
    category = CategoryFactory(slug="scarves")
    mine = [variant_for_sale(shop, stock=50, title=f"Mine {i}") for i in range(2)]
    theirs = [variant_for_sale(other_shop, stock=50, title=f"Theirs {i}") for i in range(2)]
    for v in mine + theirs:
        v.product.category = category
        v.product.save(update_fields=["category"])
    photo = catalog.add_image(actor=me, product=mine[0].product, upload=_upload())
    method = DeliveryMethod.objects.filter(shop=shop).first()
    assert method is not None

    staff = UserFactory(username="helper")
    Membership.objects.create(shop=shop, user=staff, role=Role.SUPPORT)
    invitation = shops.invite_staff(actor=me, shop=shop, email="newcomer@example.com", role=Role.SUPPORT)
    for_me = shops.invite_staff(actor=seller, shop=other_shop, email=me.email, role=Role.SUPPORT)
    shop_with_owner(slug="third-shop")

    bought = buy(me, (theirs[0], 1))
    shopper = UserFactory(username="shopper")
    sold = buy(shopper, (mine[0], 2))
    cart_with(me, (theirs[1], 1), (mine[1], 1))

    friend = UserFactory(username="friend")
    requester = UserFactory(username="requester")
    pest = UserFactory(username="pest")
    social.follow_user(actor=me, target=friend)
    social.follow_user(actor=friend, target=me)
    social.follow_shop(actor=me, shop=other_shop)
    social.follow_shop(actor=friend, shop=shop)
    FollowRequest.objects.create(requester=requester, target=me)
    social.block_user(actor=me, target=pest)
    my_post = social.create_post(actor=me, text="New #linen scarves", tags=[{"product_id": mine[0].product.pk}])
    poll_post = social.create_post(
        actor=me, text="Which colour?", poll={"question": "Which?", "options": [{"text": "Red"}, {"text": "Blue"}]}
    )
    friend_post = social.create_post(
        actor=friend, text="Look @fuzzer #linen", tags=[{"product_id": theirs[0].product.pk}]
    )
    sponsored = social.create_post(actor=friend, text="Made with wool from @fuzzer", sponsor=shop)
    social.like_post(actor=me, post=friend_post)
    their_comment = social.add_comment(actor=friend, post=my_post, text="Lovely")
    my_comment = social.add_comment(actor=me, post=friend_post, text="Thanks")
    share = social.create_share_link(actor=me, post=friend_post)
    notice = notify(me, "test.hello", title="Hello")
    assert notice is not None
    spare, _raw = issue_token(user=me, name="spare")
    _token, raw = issue_token(user=me, name="fuzz")

    # Team purchases and flash deals: a deal of mine with an open team of someone else's, and a flash deal.
    team_deal = group_deal(shop=shop, owner=me, variant=mine[1], stock=50, stock_allotted=20, max_members=3)
    team = start(team_deal, friend).team
    flash = flash_deal(shop=shop, owner=me, variant=mine[1], deal_price="5.00", quantity=20, per_user_limit=5)

    assert bought.payment is not None
    world = World(
        token=raw,
        params={
            "slug": [shop.slug, other_shop.slug],
            "username": [friend.username, requester.username, me.username, pest.username, staff.username],
            "product_id": [mine[0].product.pk, theirs[0].product.pk, mine[1].product.pk],
            "image_id": [photo.pk],
            "variant_id": [mine[0].pk, theirs[1].pk, mine[1].pk],
            "zone_id": [method.zone_id],
            "method_id": [method.pk],
            "user_id": [staff.pk, me.pk],
            "invitation_id": [invitation.pk],
            "token": [for_me.token],
            "token_id": [spare.pk],
            "public_id": [bought.public_id],
            "number": [bought.orders.get().number],
            "notification_id": [notice.pk],
            "post_id": [my_post.pk, friend_post.pk, poll_post.pk, sponsored.pk],
            "comment_id": [their_comment.pk, my_comment.pk],
            "code": [share.code],
            "poll_id": [poll_post.poll.pk],
            "tag": ["linen"],
            "deal_id": [team_deal.pk],
            "flash_deal_id": [flash.pk],
        },
        by_path={
            ("/api/v1/payments/", "public_id"): [bought.payment.public_id],
            ("/api/v1/shops/{slug}/orders/", "number"): [sold.orders.get().number],
            ("/api/v1/teams/", "code"): [team.code],
        },
    )
    assert set(world.params) == set(WORLD_PARAMETERS)
    return world


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", make_image_bytes(), content_type="image/jpeg")


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[World]:
    """Built once, in a transaction rolled back when the module is done (tests run in savepoints inside it)."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


# What the next call of this module's test sends instead of the generated values (None: nothing to change).
_rewrite: ContextVar[tuple[str, dict[str, Any], dict[str, Any]] | None] = ContextVar("fuzz_all_rewrite", default=None)


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    """Puts the caller's token (and, on the second call, the real path and query) into the case itself.

    Edits made here are the only ones schemathesis re-checks against the schema before the call: a generated
    (invalid) Authorization header replaced by a real token, or a path pointing at real objects, no longer
    counts as "negative" input that had to be refused. The hook is global; it does nothing for other modules.
    """
    rewrite = _rewrite.get()
    if rewrite is None:
        return
    authorization, path_parameters, query = rewrite
    case.headers["Authorization"] = authorization
    case.path_parameters.update(path_parameters)
    case.query.update(query)


def _value_at(body: Any, dotted: str) -> Any:
    for part in dotted.split(".") if dotted else ():
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body


def documented_input_passes_validation(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """Input that matches the published schema must get past the API's own input validation.

    That validation answers 422 with the per-field ``errors`` list (business rules answer without it). A
    schema-valid request refused there means the document and the code disagree: a field the document does not
    show, or two schemas with one name where the document shows the other one. Known and meant:
    - NUL in text is refused everywhere, which the document does not say;
    - whole numbers and prices are strict: `5.0` is refused where JSON Schema counts it as the integer 5;
    - form data (uploads) is text: an empty file is no file.
    """
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    if (case.media_type or "").startswith("multipart/"):
        return None
    unexplained = [
        error
        for error in response.json().get("errors") or []
        if error.get("message") != NUL_REFUSED and not isinstance(_value_at(case.body, error.get("field", "")), float)
    ]
    if unexplained:
        raise AssertionError(f"Schema-valid input refused by input validation: {unexplained}")
    return None


def _send(
    case: schemathesis.Case,
    world: World,
    path_parameters: dict[str, Any],
    query: dict[str, Any],
    *,
    path_was_negated: bool,
) -> None:
    authorization = f"Bearer {world.token}"
    # Schema-valid input may still break a business rule (a taken slug, an empty cart, a wrong state): that 4xx
    # is right, so "valid data is accepted" is not checked.
    excluded = [schemathesis.checks.positive_data_acceptance]
    if path_parameters and path_was_negated:
        # Schemathesis remembers which parts it made invalid when it generated the case. Once an invalid path
        # is replaced by a real one, what is left may be only what the API rightly ignores (an unknown query
        # parameter), yet it would still be counted as invalid input that had to be refused.
        excluded.append(schemathesis.checks.negative_data_rejection)
    elif (case.media_type or "").startswith("multipart/"):
        # Form fields are text on the wire: a number or a list generated where text is expected arrives as
        # the text "1" or "[]", which is valid, yet schemathesis counts it as invalid input that was accepted.
        excluded.append(schemathesis.checks.negative_data_rejection)
    marker = _rewrite.set((authorization, path_parameters, query))
    try:
        with transaction.atomic():
            try:
                case.call_and_validate(
                    headers={"Authorization": authorization},
                    excluded_checks=excluded,
                    additional_checks=[documented_input_passes_validation],
                )
            finally:
                transaction.set_rollback(True)
    finally:
        _rewrite.reset(marker)


def test_every_operation_is_fuzzed_with_real_objects() -> None:
    """A new endpoint is fuzzed automatically; a new path parameter needs real values in ``_build_world``."""
    operations = [result.ok() for result in everything.get_all_operations()]
    assert len(operations) >= 136
    names = {p.name for operation in operations for p in operation.path_parameters}
    assert names <= set(WORLD_PARAMETERS), f"no real values for {names - set(WORLD_PARAMETERS)}"


# Two schema classes with one name are one entry in the OpenAPI document: one operation is documented with
# the other's shape. Left for the orders/shipping owners: orders.schemas.DeliveryQuoteOut (checkout preview)
# takes the place of shipping.schemas.DeliveryQuoteOut, so GET /shops/{slug}/delivery is documented without
# its `zone`, `price` and `free_over` fields.
KNOWN_NAME_CLASHES = {"DeliveryQuoteOut"}


def test_schema_names_are_unique() -> None:
    import agora.api.api  # noqa: F401  (imports every router and its schemas)

    by_name: dict[str, set[str]] = {}
    classes, seen = [BaseModel], set()
    while classes:
        for sub in classes.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                classes.append(sub)
                if sub.__module__.startswith("agora.") and sub.__module__.endswith((".schemas", ".api")):
                    by_name.setdefault(sub.__name__, set()).add(f"{sub.__module__}.{sub.__qualname__}")
    clashes = {name: places for name, places in by_name.items() if len(places) > 1}
    assert set(clashes) <= KNOWN_NAME_CLASHES, clashes


def _worth_a_real_path(case: schemathesis.Case) -> bool:
    if not case.path_parameters or case.method.upper() != case.operation.method.upper():
        return False  # no path to point anywhere, or a method the path does not have: a 405 wherever it points
    # The coverage phase makes one part invalid at a time: when that part is the path, the real path would make
    # the request valid, and the same as a case of its own.
    meta = case.meta
    return meta is None or meta.phase.name != TestPhase.COVERAGE or not meta.is_negative_at(ParameterLocation.PATH)


@everything.parametrize()
@FUZZ
def test_every_operation_answers_as_documented(case: schemathesis.Case, world: World, db: None) -> None:
    path_was_negated = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    _send(case, world, {}, {}, path_was_negated=path_was_negated)
    if _worth_a_real_path(case):
        path, query = world.real(case)
        _send(case, world, path, query, path_was_negated=path_was_negated)


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[null, null]", '"AAA"', "1", "null", "[]"])
def test_a_body_that_is_not_an_object_is_refused(api_as: Any, body: str) -> None:
    # Found by this fuzzer: ninja's Schema read the fields of any value as attributes, so a list or a string
    # passed for an empty object wherever every field is optional, and PATCH /me answered 200 to `[null, null]`.
    client = api_as(UserFactory(display_name="Anna"))
    response = client.call("PATCH", "me", body)
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "invalid"
    assert client.call("PATCH", "me", {"display_name": "Berta"}).json()["display_name"] == "Berta"
