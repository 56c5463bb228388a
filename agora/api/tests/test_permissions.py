"""Who may do what, endpoint by endpoint: a matrix of callers against object endpoints.

Given a shop with an owner, a manager and a support member, another shop with its owner, a
stranger, the platform's superuser and an anonymous caller; when each calls the endpoint; then
the status is the one in the table, and a refused call changed nothing.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.catalog.models import Product, ProductStatus, Variant
from agora.catalog.tests.factories import ProductFactory, VariantFactory, published_product
from agora.shops.models import Invitation, Role, Shop
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner
from conftest import ApiClient

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "stranger", "other_owner", "support", "manager", "owner", "superuser"]


@dataclass
class World:
    shop: Shop
    draft: Product
    published: Product
    users: dict[str, Any]


@pytest.fixture
def world() -> World:
    shop, owner = shop_with_owner(name="Riga Knits")
    _other_shop, other_owner = shop_with_owner(name="Tea House")
    draft = ProductFactory(shop=shop, status=ProductStatus.DRAFT, published_at=None, title="Secret draft")
    VariantFactory(product=draft, sku="DRAFT-1")
    published = published_product(shop=shop, title="On sale")
    users = {
        "anonymous": None,
        "stranger": UserFactory(),
        "other_owner": other_owner,
        "support": MembershipFactory(shop=shop, role=Role.SUPPORT).user,
        "manager": MembershipFactory(shop=shop, role=Role.MANAGER).user,
        "owner": owner,
        "superuser": UserFactory(is_superuser=True, is_staff=True),
    }
    return World(shop=shop, draft=draft, published=published, users=users)


def client_for(world: World, caller: str, api_as: Any) -> ApiClient:
    user = world.users[caller]
    return ApiClient() if user is None else api_as(user)


def expect(*statuses: int) -> dict[str, int]:
    return dict(zip(CALLERS, statuses, strict=True))


# action -> (how to call it, what nothing-changed looks like, expected status per caller)
MATRIX: dict[str, dict[str, int]] = {
    #                                   anon stranger other_owner support manager owner superuser
    "read_draft": expect(404, 404, 404, 200, 200, 200, 200),
    "read_published": expect(200, 200, 200, 200, 200, 200, 200),
    "edit_draft": expect(401, 404, 404, 403, 200, 200, 200),
    "edit_published": expect(401, 403, 403, 403, 200, 200, 200),
    "publish": expect(401, 404, 404, 403, 200, 200, 200),
    "add_variant": expect(401, 404, 404, 403, 201, 201, 201),
    "edit_shop": expect(401, 403, 403, 403, 200, 200, 200),
    "invite_staff": expect(401, 403, 403, 403, 403, 201, 201),
    "list_staff": expect(401, 403, 403, 200, 200, 200, 200),
    "list_invitations": expect(401, 403, 403, 403, 403, 200, 200),
    "stock_report": expect(401, 403, 403, 200, 200, 200, 200),
    "list_draft_products": expect(200, 200, 200, 200, 200, 200, 200),
}


def call(world: World, client: ApiClient, action: str) -> Any:
    shop, draft, published = world.shop, world.draft, world.published
    calls = {
        "read_draft": ("GET", f"products/{draft.pk}", None),
        "read_published": ("GET", f"products/{published.pk}", None),
        "edit_draft": ("PATCH", f"products/{draft.pk}", {"title": "Changed"}),
        "edit_published": ("PATCH", f"products/{published.pk}", {"title": "Changed"}),
        "publish": ("POST", f"products/{draft.pk}/publish", None),
        "add_variant": ("POST", f"products/{draft.pk}/variants", {"sku": "NEW-1", "price": "9.99"}),
        "edit_shop": ("PATCH", f"shops/{shop.slug}", {"name": "Changed"}),
        "invite_staff": ("POST", f"shops/{shop.slug}/invitations", {"email": "new@example.com", "role": "support"}),
        "list_staff": ("GET", f"shops/{shop.slug}/staff", None),
        "list_invitations": ("GET", f"shops/{shop.slug}/invitations", None),
        "stock_report": ("GET", f"shops/{shop.slug}/stock", None),
        "list_draft_products": ("GET", f"shops/{shop.slug}/products", {"status": "draft"}),
    }
    method, path, data = calls[action]
    return client.call(method, path, data)


def unchanged(world: World, action: str) -> bool:
    """After a refused call: the object is as it was."""
    world.draft.refresh_from_db()
    world.published.refresh_from_db()
    world.shop.refresh_from_db()
    return {
        "edit_draft": world.draft.title == "Secret draft",
        "edit_published": world.published.title == "On sale",
        "publish": world.draft.status == ProductStatus.DRAFT,
        "add_variant": not Variant.objects.filter(sku="NEW-1").exists(),
        "edit_shop": world.shop.name == "Riga Knits",
        "invite_staff": not Invitation.objects.exists(),
    }.get(action, True)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("action", list(MATRIX))
def test_permission_matrix(world, api_as, action, caller):
    client = client_for(world, caller, api_as)

    response = call(world, client, action)

    expected = MATRIX[action][caller]
    assert response.status_code == expected, (action, caller, response.json())
    body = response.json()
    if expected >= 400:
        assert set(body) >= {"detail", "code"}
        assert unchanged(world, action), f"{caller} was refused {action} but something changed"
    if action == "list_draft_products":
        sees_drafts = caller in {"support", "manager", "owner", "superuser"}
        assert [p["id"] for p in body["items"]] == ([world.draft.pk] if sees_drafts else [])


@pytest.mark.parametrize("caller", CALLERS)
def test_draft_never_leaks_through_search(world, api_as, caller):
    client = client_for(world, caller, api_as)

    found = client.call("GET", "products", {"q": "secret"}).json()

    assert found["items"] == []


def test_a_revoked_token_gets_401_everywhere(world, api_as):
    owner = world.users["owner"]
    client = api_as(owner)
    client.call("POST", "auth/logout")

    for method, path in [("GET", "me"), ("GET", f"products/{world.draft.pk}"), ("PATCH", f"shops/{world.shop.slug}")]:
        response = client.call(method, path, {"name": "x"} if method == "PATCH" else None)
        assert response.status_code == 401, path
    world.shop.refresh_from_db()
    assert world.shop.name == "Riga Knits"


def test_private_profile_fields_are_only_for_their_owner(world, api_as):
    owner = world.users["owner"]
    stranger = api_as(world.users["stranger"])

    mine = api_as(owner).call("GET", "me").json()
    theirs = stranger.call("GET", f"users/{owner.username}").json()

    assert mine["email"] == owner.email
    assert not {"email", "language", "currency", "id", "is_staff"} & set(theirs)


def test_staff_list_shows_public_profiles_only(world, api_as):
    staff = api_as(world.users["owner"]).call("GET", f"shops/{world.shop.slug}/staff").json()

    for member in staff["items"]:
        assert "email" not in member["user"]
    assert world.users["manager"].email not in str(staff)


def test_variant_of_a_draft_is_invisible_to_outsiders(world, api_as):
    variant = world.draft.variants.get()

    for caller in ("anonymous", "stranger", "other_owner"):
        client = client_for(world, caller, api_as)
        response = client.call("PATCH", f"variants/{variant.pk}", {"price": "0"})
        assert response.status_code in (401, 404), caller
    variant.refresh_from_db()
    assert variant.price != 0


def test_another_shops_owner_cannot_touch_my_staff(world, api_as):
    intruder = api_as(world.users["other_owner"])
    manager = world.users["manager"]

    promote = intruder.call("PATCH", f"shops/{world.shop.slug}/staff/{manager.pk}", {"role": "owner"})
    remove = intruder.call("DELETE", f"shops/{world.shop.slug}/staff/{manager.pk}")

    assert promote.status_code == remove.status_code == 403
    assert world.shop.memberships.get(user=manager).role == Role.MANAGER


def test_a_shops_staff_cannot_reach_into_another_shop(api_as):
    mine, me = shop_with_owner()
    theirs = ShopFactory()
    their_draft = ProductFactory(shop=theirs, status=ProductStatus.DRAFT, published_at=None)

    client = api_as(me)

    assert client.call("GET", f"products/{their_draft.pk}").status_code == 404
    assert client.call("POST", f"shops/{theirs.slug}/products", {"title": "Mine now"}).status_code == 403
    assert client.call("GET", f"shops/{theirs.slug}/stock").status_code == 403
    assert Product.objects.filter(shop=theirs).count() == 1
    assert mine.products.count() == 0
