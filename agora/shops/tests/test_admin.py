"""The back office for shops, staff and invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import published_product
from agora.core.tests.adminform import form_data, listed, queries
from agora.shops import services
from agora.shops.admin import ShopAdminForm
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner

pytestmark = pytest.mark.django_db


def _shops_with_staff(count):
    shops = []
    for i in range(count):
        shop, owner = shop_with_owner(name=f"Shop {i}", country="LV" if i % 2 else "PH")
        MembershipFactory(shop=shop, role=Role.SUPPORT)
        published_product(shop=shop)
        published_product(shop=shop)
        services.invite_staff(actor=owner, shop=shop, email=f"new{i}@example.com", role=Role.MANAGER)
        shops.append(shop)
    return shops


@pytest.mark.parametrize("model", ["shop", "membership", "invitation"])
def test_changelist_and_change_page_load_with_data(admin_client, model):
    shop = _shops_with_staff(2)[0]
    obj = {"shop": shop, "membership": shop.memberships.first(), "invitation": shop.invitations.first()}[model]

    assert admin_client.get(reverse(f"admin:shops_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:shops_{model}_change", args=[obj.pk])).status_code == 200


def test_shop_list_counts_products(admin_client):
    busy, _ = shop_with_owner(name="Busy")
    for _ in range(3):
        published_product(shop=busy)
    shop_with_owner(name="Empty")

    response = admin_client.get(reverse("admin:shops_shop_changelist"))

    counts = {shop.name: shop.product_count for shop in response.context["cl"].result_list}
    assert counts == {"Busy": 3, "Empty": 0}


def test_shop_search_and_filters(admin_client):
    riga = ShopFactory(name="Riga Knits", slug="riga-knits", country="LV", currency="EUR")
    manila = ShopFactory(name="Manila Roasters", slug="manila", country="PH", currency="PHP", is_active=False)
    url = reverse("admin:shops_shop_changelist")

    assert listed(admin_client, url + "?q=knits") == {riga.pk}
    assert listed(admin_client, url + "?q=manila") == {manila.pk}
    assert listed(admin_client, url + "?country=PH") == {manila.pk}
    assert listed(admin_client, url + "?currency__exact=EUR") == {riga.pk}
    assert listed(admin_client, url + "?is_active__exact=0") == {manila.pk}


def test_shop_change_page_lists_staff_and_invitations(admin_client):
    shop, owner = shop_with_owner()
    services.invite_staff(actor=owner, shop=shop, email="helper@example.com", role=Role.SUPPORT)

    html = admin_client.get(reverse("admin:shops_shop_change", args=[shop.pk])).content.decode()

    assert owner.username in html
    assert "helper@example.com" in html


@pytest.mark.parametrize(
    "url_name", ["shops_shop_changelist", "shops_membership_changelist", "shops_invitation_changelist"]
)
def test_changelist_queries_do_not_grow_with_rows(admin_client, url_name):
    url = reverse(f"admin:{url_name}")
    _shops_with_staff(2)
    few = queries(admin_client, url)

    _shops_with_staff(8)

    assert queries(admin_client, url) == few


def test_shop_change_page_queries_do_not_grow_with_staff(admin_client):
    shop, owner = shop_with_owner()
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    few = queries(admin_client, url)
    for i in range(5):
        MembershipFactory(shop=shop, role=Role.SUPPORT)
        services.invite_staff(actor=owner, shop=shop, email=f"x{i}@example.com", role=Role.SUPPORT)

    assert queries(admin_client, url) == few


def test_invitation_state_filter(admin_client):
    shop, owner = shop_with_owner()
    pending = services.invite_staff(actor=owner, shop=shop, email="a@example.com", role=Role.SUPPORT)
    expired = services.invite_staff(actor=owner, shop=shop, email="b@example.com", role=Role.SUPPORT)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    revoked = services.invite_staff(actor=owner, shop=shop, email="c@example.com", role=Role.SUPPORT)
    services.revoke_invitation(actor=owner, shop=shop, invitation_id=revoked.pk)
    url = reverse("admin:shops_invitation_changelist")

    assert listed(admin_client, url + "?state=pending") == {pending.pk}
    assert listed(admin_client, url + "?state=expired") == {expired.pk}
    assert listed(admin_client, url + "?state=revoked") == {revoked.pk}
    assert listed(admin_client, url + "?q=b@example") == {expired.pk}


def test_revoke_invitation_action(admin_client):
    shop, owner = shop_with_owner()
    invitation = services.invite_staff(actor=owner, shop=shop, email="a@example.com", role=Role.SUPPORT)

    admin_client.post(
        reverse("admin:shops_invitation_changelist"), {"action": "revoke", "_selected_action": [invitation.pk]}
    )

    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and not invitation.is_pending


# --- the shop's rules hold in the back office -------------------------------------------
def test_currency_is_locked_once_the_shop_has_products():
    product = published_product(shop__currency="EUR")
    shop = product.shop
    data = {"name": shop.name, "slug": shop.slug, "currency": "USD", "country": "LV", "is_active": True}

    form = ShopAdminForm(data=data, instance=shop)

    assert not form.is_valid()
    assert "currency" in form.errors
    data["currency"] = "EUR"
    assert ShopAdminForm(data=data, instance=shop).is_valid()


def test_reserved_slug_is_refused(admin_client):
    shop, _ = shop_with_owner()
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    data = form_data(admin_client.get(url).content, "shop_form")
    data["slug"] = "admin"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    shop.refresh_from_db()
    assert shop.slug != "admin"


def test_the_last_owner_cannot_be_demoted_or_removed_inline(admin_client):
    shop, _ = shop_with_owner()
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    data = form_data(admin_client.get(url).content, "shop_form")

    demoted = dict(data, **{"memberships-0-role": Role.SUPPORT})
    assert admin_client.post(url, demoted).status_code == 200
    removed = dict(data, **{"memberships-0-DELETE": "on"})
    assert admin_client.post(url, removed).status_code == 200

    assert Membership.objects.get(shop=shop).role == Role.OWNER


def test_roles_change_inline_through_the_service(admin_client):
    shop, _ = shop_with_owner()
    helper = MembershipFactory(shop=shop, role=Role.SUPPORT)
    url = reverse("admin:shops_shop_change", args=[shop.pk])
    data = form_data(admin_client.get(url).content, "shop_form")
    index = 0 if data["memberships-0-id"] == str(helper.pk) else 1
    data[f"memberships-{index}-role"] = Role.OWNER
    data[f"memberships-{1 - index}-DELETE"] = "on"

    assert admin_client.post(url, data).status_code == 302

    assert list(Membership.objects.filter(shop=shop).values_list("user_id", "role")) == [(helper.user_id, "owner")]


def test_membership_admin_keeps_the_last_owner(admin_client):
    shop, owner = shop_with_owner()
    membership = Membership.objects.get(shop=shop, user=owner)
    url = reverse("admin:shops_membership_change", args=[membership.pk])
    data = form_data(admin_client.get(url).content, "membership_form")
    data["role"] = Role.MANAGER

    assert admin_client.post(url, data).status_code == 200
    assert admin_client.get(reverse("admin:shops_membership_delete", args=[membership.pk])).status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_membership_admin_adds_staff_once_per_shop(admin_client):
    shop, _ = shop_with_owner()
    helper = UserFactory()
    url = reverse("admin:shops_membership_add")
    data = {"shop": shop.pk, "user": helper.pk, "role": Role.SUPPORT}

    assert admin_client.post(url, data).status_code == 302
    assert admin_client.post(url, data).status_code == 200  # the same person twice is refused

    assert Membership.objects.filter(shop=shop, user=helper).count() == 1


def test_shops_are_not_added_in_the_back_office(admin_client):
    assert admin_client.get(reverse("admin:shops_shop_add")).status_code == 403
    assert Shop.objects.count() == 0
