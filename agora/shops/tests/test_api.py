"""Shops over the API: opening and editing, logo, staff, invitations."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner

pytestmark = pytest.mark.django_db

NEW_SHOP = {"name": "Riga Knits", "currency": "EUR", "country": "LV", "description": "Wool from Latvia."}


# --- opening and reading -------------------------------------------------------------
def test_open_a_shop_and_become_its_owner(api_as):
    user = UserFactory()

    response = api_as(user).call("POST", "shops", NEW_SHOP)

    assert response.status_code == 201
    body = response.json()
    assert (body["slug"], body["currency"], body["country"]) == ("riga-knits", "EUR", "LV")
    assert Membership.objects.get(shop__slug="riga-knits").user == user
    mine = api_as(user).call("GET", "me/shops").json()
    assert [(m["shop"]["slug"], m["role"]) for m in mine["items"]] == [("riga-knits", "owner")]


def test_anonymous_cannot_open_a_shop(api):
    response = api.call("POST", "shops", NEW_SHOP)

    assert response.status_code == 401
    assert Shop.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"currency": "ABC"}, 422, "unknown_currency", "currency"),
        ({"country": "XX"}, 422, "unknown_country", "country"),
        ({"slug": "Not A Slug!"}, 422, "shop_invalid", "slug"),
        ({"slug": "admin"}, 409, "slug_taken", "slug"),
        ({"name": "   "}, 422, "required", "name"),
        ({"name": "Knits\x00"}, 422, "invalid", "name"),
        ({"description": "x" * 5001}, 422, "too_long", "description"),
    ],
)
def test_bad_shop_input_is_refused_and_nothing_is_written(api_as, overrides, status, code, field):
    response = api_as(UserFactory()).call("POST", "shops", {**NEW_SHOP, **overrides})

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["field"] == field
    assert Shop.objects.count() == 0
    assert Membership.objects.count() == 0


def test_a_taken_slug_is_a_409_conflict(api_as):
    ShopFactory(slug="riga-knits")

    response = api_as(UserFactory()).call("POST", "shops", {**NEW_SHOP, "slug": "riga-knits"})

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The slug 'riga-knits' is taken. Choose another.",
        "code": "slug_taken",
        "field": "slug",
    }
    assert Shop.objects.count() == 1


def test_list_and_search_shops_show_active_ones_with_product_counts(api):
    shop, _ = shop_with_owner(name="Riga Knits", description="wool")
    ShopFactory(name="Closed", is_active=False)
    ShopFactory(name="Tea House", description="green tea")
    published_product(shop=shop)

    everything = api.call("GET", "shops").json()
    found = api.call("GET", "shops", {"q": "WOOL"}).json()

    assert [s["name"] for s in everything["items"]] == ["Riga Knits", "Tea House"]
    assert everything["items"][0]["published_products"] == 1
    assert [s["name"] for s in found["items"]] == ["Riga Knits"]


def test_a_closed_shop_is_404_except_for_its_staff(api, api_as):
    shop, owner = shop_with_owner(is_active=False)

    assert api.call("GET", f"shops/{shop.slug}").status_code == 404
    assert api_as(UserFactory()).call("GET", f"shops/{shop.slug}").status_code == 404
    assert api_as(owner).call("GET", f"shops/{shop.slug}").json()["is_active"] is False


# --- editing -------------------------------------------------------------------------
def test_owner_edits_the_shop(api_as):
    shop, owner = shop_with_owner()

    response = api_as(owner).call("PATCH", f"shops/{shop.slug}", {"name": "New name", "slug": "new-slug"})

    assert response.status_code == 200
    assert response.json()["slug"] == "new-slug"
    shop.refresh_from_db()
    assert (shop.name, shop.slug) == ("New name", "new-slug")


def test_currency_is_locked_once_the_shop_has_products(api_as):
    shop, owner = shop_with_owner(currency="EUR")
    published_product(shop=shop)

    response = api_as(owner).call("PATCH", f"shops/{shop.slug}", {"currency": "USD", "name": "Renamed"})

    assert response.status_code == 422
    assert response.json()["code"] == "currency_locked"
    shop.refresh_from_db()
    assert (shop.currency, shop.name) == ("EUR", shop.name)
    assert shop.name != "Renamed"


def test_manager_cannot_close_the_shop(api_as):
    shop = ShopFactory()
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user

    response = api_as(manager).call("PATCH", f"shops/{shop.slug}", {"is_active": False})

    assert response.status_code == 403
    shop.refresh_from_db()
    assert shop.is_active


def test_logo_upload_and_refusals(api_as, image_bytes, settings):
    shop, owner = shop_with_owner()
    client = api_as(owner)

    ok = client.call(
        "POST",
        f"shops/{shop.slug}/logo",
        {"logo": SimpleUploadedFile("l.jpg", image_bytes(), "image/jpeg")},
        multipart=True,
    )
    assert ok.status_code == 200, ok.json()
    assert ok.json()["logo_thumbnail"].startswith("http://testserver/media/shops/logos/thumbs/")
    first_logo = Shop.objects.get(pk=shop.pk).logo.name

    not_image = client.call(
        "POST",
        f"shops/{shop.slug}/logo",
        {"logo": SimpleUploadedFile("l.jpg", b"%PDF-1.4", "image/jpeg")},
        multipart=True,
    )
    assert not_image.status_code == 422
    assert not_image.json()["code"] == "invalid_image"

    settings.AGORA_MAX_IMAGE_BYTES = 1024
    big = image_bytes(size=(400, 400), fmt="PNG")
    assert len(big) > 1024
    too_big = client.call(
        "POST", f"shops/{shop.slug}/logo", {"logo": SimpleUploadedFile("l.png", big, "image/png")}, multipart=True
    )
    assert too_big.status_code == 422
    assert too_big.json()["code"] == "image_too_large"

    missing = client.call("POST", f"shops/{shop.slug}/logo", {}, multipart=True)
    assert missing.status_code == 422
    assert missing.json()["field"] == "logo"

    assert Shop.objects.get(pk=shop.pk).logo.name == first_logo  # the refusals changed nothing


# --- staff and invitations -----------------------------------------------------------
def test_invite_accept_change_role_and_remove(api_as, django_capture_on_commit_callbacks):
    shop, owner = shop_with_owner()
    owner_client = api_as(owner)
    invitee = UserFactory(email="clerk@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        sent = owner_client.call(
            "POST", f"shops/{shop.slug}/invitations", {"email": "Clerk@example.com", "role": "support"}
        )
    assert sent.status_code == 201
    assert sent.json()["status"] == "pending"
    assert "token" not in sent.json()
    token = Invitation.objects.get().token
    assert token in mail.outbox[0].body

    accepted = api_as(invitee).call("POST", f"invitations/{token}/accept")
    assert accepted.status_code == 200
    assert (accepted.json()["shop"]["slug"], accepted.json()["role"]) == (shop.slug, "support")

    staff = owner_client.call("GET", f"shops/{shop.slug}/staff").json()
    assert [(s["user"]["username"], s["role"]) for s in staff["items"]] == [
        (owner.username, "owner"),
        (invitee.username, "support"),
    ]
    assert "email" not in staff["items"][1]["user"]

    promoted = owner_client.call("PATCH", f"shops/{shop.slug}/staff/{invitee.pk}", {"role": "manager"})
    assert promoted.json()["role"] == "manager"
    assert owner_client.call("DELETE", f"shops/{shop.slug}/staff/{invitee.pk}").status_code == 204
    assert not Membership.objects.filter(user=invitee).exists()


def test_invitation_for_another_address_cannot_be_accepted(api_as, django_capture_on_commit_callbacks):
    shop, owner = shop_with_owner()
    api_as(owner).call("POST", f"shops/{shop.slug}/invitations", {"email": "clerk@example.com", "role": "manager"})
    token = Invitation.objects.get().token

    response = api_as(UserFactory(email="thief@example.com")).call("POST", f"invitations/{token}/accept")

    assert response.status_code == 422
    assert response.json()["code"] == "invitation_invalid"
    assert Membership.objects.filter(shop=shop).count() == 1


def test_revoked_invitation_is_listed_as_revoked_and_cannot_be_used(api_as):
    shop, owner = shop_with_owner()
    client = api_as(owner)
    invitation_id = client.call(
        "POST", f"shops/{shop.slug}/invitations", {"email": "c@example.com", "role": "support"}
    ).json()["id"]

    assert client.call("DELETE", f"shops/{shop.slug}/invitations/{invitation_id}").status_code == 204

    listed = client.call("GET", f"shops/{shop.slug}/invitations").json()
    assert [(i["id"], i["status"]) for i in listed["items"]] == [(invitation_id, "revoked")]
    token = Invitation.objects.get().token
    assert api_as(UserFactory(email="c@example.com")).call("POST", f"invitations/{token}/accept").status_code == 422


def test_unknown_role_and_bad_email_are_422(api_as):
    shop, owner = shop_with_owner()
    client = api_as(owner)

    role = client.call("POST", f"shops/{shop.slug}/invitations", {"email": "c@example.com", "role": "king"})
    email = client.call("POST", f"shops/{shop.slug}/invitations", {"email": "nope", "role": "support"})

    assert role.status_code == 422
    assert role.json()["field"] == "role"
    assert email.status_code == 422
    assert email.json()["field"] == "email"
    assert Invitation.objects.count() == 0


def test_the_last_owner_cannot_step_down(api_as):
    shop, owner = shop_with_owner()

    response = api_as(owner).call("PATCH", f"shops/{shop.slug}/staff/{owner.pk}", {"role": "support"})

    assert response.status_code == 409
    assert response.json()["code"] == "last_owner"
    assert Membership.objects.get(shop=shop).role == Role.OWNER


def test_a_support_member_may_leave_but_not_remove_others(api_as):
    shop, owner = shop_with_owner()
    support = MembershipFactory(shop=shop, role=Role.SUPPORT).user
    client = api_as(support)

    assert client.call("DELETE", f"shops/{shop.slug}/staff/{owner.pk}").status_code == 403
    assert client.call("DELETE", f"shops/{shop.slug}/staff/{support.pk}").status_code == 204
    assert list(Membership.objects.filter(shop=shop).values_list("user_id", flat=True)) == [owner.pk]


def test_unknown_invitation_token_is_404(api_as):
    response = api_as(UserFactory()).call("POST", "invitations/not-a-token/accept")

    assert response.status_code == 404
    assert response.json()["code"] == "shop_not_found"
