"""Shops through their services: opening, editing, logo, staff roles and invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone

from agora.accounts.tests.factories import UserFactory
from agora.catalog.tests.factories import ProductFactory
from agora.core.errors import NotAuthenticated, ValidationFailed
from agora.shops import selectors, services
from agora.shops.errors import (
    InvitationInvalid,
    LastOwner,
    ShopInvalid,
    ShopNotFound,
    ShopPermissionDenied,
    SlugTaken,
)
from agora.shops.models import Invitation, Membership, Role, Shop
from agora.shops.permissions import ShopAction
from agora.shops.tests.factories import MembershipFactory, ShopFactory, shop_with_owner

pytestmark = pytest.mark.django_db


def _staff(shop, role):
    return MembershipFactory(shop=shop, role=role).user


# --- opening a shop --------------------------------------------------------------------
def test_create_shop_makes_the_creator_its_owner_with_an_automatic_slug():
    anna = UserFactory()

    shop = services.create_shop(owner=anna, name="  Riga Knits ", currency="eur", country="lv")

    assert (shop.name, shop.slug, shop.currency, shop.country.code) == ("Riga Knits", "riga-knits", "EUR", "LV")
    assert selectors.role_of(anna, shop) == Role.OWNER


def test_automatic_slugs_stay_unique():
    anna = UserFactory()

    first = services.create_shop(owner=anna, name="Riga Knits", currency="EUR", country="LV")
    second = services.create_shop(owner=anna, name="Riga knits!", currency="EUR", country="LV")
    third = services.create_shop(owner=anna, name="Rīga Knits", currency="EUR", country="LV")

    assert [first.slug, second.slug, third.slug] == ["riga-knits", "riga-knits-2", "riga-knits-3"]


def test_an_automatic_slug_never_takes_a_reserved_word():
    shop = services.create_shop(owner=UserFactory(), name="Admin", currency="EUR", country="LV")

    assert shop.slug == "admin-shop"


def test_a_chosen_slug_that_is_taken_is_refused():
    ShopFactory(slug="knits")

    with pytest.raises(SlugTaken) as exc:
        services.create_shop(owner=UserFactory(), name="Knits", slug="KNITS", currency="EUR", country="LV")

    assert exc.value.status == 409
    assert Shop.objects.count() == 1


@pytest.mark.parametrize("slug", ["admin", "api", "dashboard", "new"])
def test_reserved_slugs_are_refused(slug):
    with pytest.raises(SlugTaken, match="reserved"):
        services.create_shop(owner=UserFactory(), name="X", slug=slug, currency="EUR", country="LV")


@pytest.mark.parametrize("slug", ["-knits", "knits-", "kn its", "knits_", "ä", "x" * 61])
def test_malformed_slugs_are_refused(slug):
    with pytest.raises(ValidationFailed) as exc:
        services.create_shop(owner=UserFactory(), name="X", slug=slug, currency="EUR", country="LV")

    assert exc.value.field == "slug"


def test_unknown_currency_is_refused():
    with pytest.raises(ValidationFailed) as exc:
        services.create_shop(owner=UserFactory(), name="X", currency="XYZ", country="LV")

    assert (exc.value.code, exc.value.field) == ("unknown_currency", "currency")
    assert not Shop.objects.exists()


@pytest.mark.parametrize("country", ["ZZ", "", "Latvia", "L"])
def test_unknown_country_is_refused(country):
    with pytest.raises(ShopInvalid) as exc:
        services.create_shop(owner=UserFactory(), name="X", currency="EUR", country=country)

    assert exc.value.code == "unknown_country"


def test_a_name_is_required_and_nul_is_refused():
    with pytest.raises(ValidationFailed):
        services.create_shop(owner=UserFactory(), name="  ", currency="EUR", country="LV")
    with pytest.raises(ValidationFailed):
        services.create_shop(owner=UserFactory(), name="Knits\x00", currency="EUR", country="LV")
    assert not Shop.objects.exists()


def test_anonymous_cannot_open_a_shop():
    with pytest.raises(NotAuthenticated):
        services.create_shop(owner=AnonymousUser(), name="X", currency="EUR", country="LV")  # type: ignore[arg-type]


# --- who may do what -----------------------------------------------------------------------
EXPECTED = {
    Role.OWNER: set(ShopAction),
    Role.MANAGER: set(ShopAction) - {ShopAction.MANAGE_STAFF, ShopAction.VIEW_FINANCES},
    Role.SUPPORT: {
        ShopAction.VIEW_DRAFTS,
        ShopAction.VIEW_ORDERS,
        ShopAction.FULFIL_ORDERS,
        ShopAction.MODERATE_COMMENTS,
    },
    "outsider": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("action", list(ShopAction))
def test_role_permissions_table(who, action):
    shop = ShopFactory()
    if who == "anonymous":
        user = AnonymousUser()
    elif who == "outsider":
        user = UserFactory()
    else:
        user = _staff(shop, who)

    assert selectors.can(user, shop, action) is (action in EXPECTED[who])


def test_a_superuser_may_do_everything_in_any_shop():
    operator = UserFactory(is_staff=True, is_superuser=True)
    shop = ShopFactory()

    assert all(selectors.can(operator, shop, action) for action in ShopAction)


def test_roles_in_one_shop_give_nothing_in_another():
    shop, owner = shop_with_owner()
    other = ShopFactory()

    assert selectors.can(owner, shop, ShopAction.MANAGE_STAFF)
    assert not selectors.can(owner, other, ShopAction.VIEW_DRAFTS)
    with pytest.raises(ShopPermissionDenied):
        services.update_shop(actor=owner, shop=other, name="Mine now")


def test_manager_edits_the_shop_but_cannot_close_it_or_manage_staff():
    shop, _ = shop_with_owner()
    manager = _staff(shop, Role.MANAGER)

    services.update_shop(actor=manager, shop=shop, description="New words.")
    with pytest.raises(ShopPermissionDenied):
        services.update_shop(actor=manager, shop=shop, is_active=False)
    with pytest.raises(ShopPermissionDenied):
        services.invite_staff(actor=manager, shop=shop, email="x@example.com", role=Role.SUPPORT)

    shop.refresh_from_db()
    assert shop.description == "New words." and shop.is_active


def test_support_cannot_edit_the_shop():
    shop, _ = shop_with_owner(name="Before")

    with pytest.raises(ShopPermissionDenied):
        services.update_shop(actor=_staff(shop, Role.SUPPORT), shop=shop, name="After")

    shop.refresh_from_db()
    assert shop.name == "Before"


def test_an_inactive_shop_is_hidden_from_outsiders_but_not_from_staff():
    shop, owner = shop_with_owner(is_active=False)

    assert selectors.get_shop(shop.slug, viewer=owner) == shop
    with pytest.raises(ShopNotFound):
        selectors.get_shop(shop.slug, viewer=UserFactory())
    with pytest.raises(ShopNotFound):
        selectors.get_shop(shop.slug)


# --- editing ---------------------------------------------------------------------------------
def test_currency_can_change_until_the_shop_has_products():
    shop, owner = shop_with_owner(currency="EUR")
    services.update_shop(actor=owner, shop=shop, currency="usd")
    assert Shop.objects.get(pk=shop.pk).currency == "USD"
    ProductFactory(shop=shop)

    with pytest.raises(ShopInvalid) as exc:
        services.update_shop(actor=owner, shop=shop, currency="EUR")

    assert exc.value.code == "currency_locked"
    assert Shop.objects.get(pk=shop.pk).currency == "USD"


def test_changing_to_a_taken_slug_is_refused():
    ShopFactory(slug="taken")
    shop, owner = shop_with_owner(slug="mine")

    with pytest.raises(SlugTaken):
        services.update_shop(actor=owner, shop=shop, slug="taken")

    assert Shop.objects.get(pk=shop.pk).slug == "mine"


def test_set_logo_stores_a_picture_and_a_thumbnail(image_bytes):
    shop, owner = shop_with_owner()

    services.set_logo(actor=owner, shop=shop, upload=ContentFile(image_bytes((900, 600)), name="logo.png"))

    shop.refresh_from_db()
    assert shop.logo and shop.logo_thumbnail
    assert shop.logo.storage.exists(shop.logo_thumbnail.name)


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"%PDF-1.4 not a picture", "invalid_image"), (b"", "invalid_image"), (b"GIF89a" + b"\x00" * 10, "invalid_image")],
)
def test_set_logo_refuses_a_bad_file_and_keeps_the_old_logo(image_bytes, content, code):
    shop, owner = shop_with_owner()
    services.set_logo(actor=owner, shop=shop, upload=ContentFile(image_bytes(), name="logo.jpg"))
    before = Shop.objects.get(pk=shop.pk).logo.name

    with pytest.raises(ValidationFailed) as exc:
        services.set_logo(actor=owner, shop=shop, upload=ContentFile(content, name="logo.jpg"))

    assert exc.value.code == code
    assert Shop.objects.get(pk=shop.pk).logo.name == before


def test_set_logo_needs_the_right_to_edit(image_bytes):
    shop, _ = shop_with_owner()

    with pytest.raises(ShopPermissionDenied):
        services.set_logo(actor=_staff(shop, Role.SUPPORT), shop=shop, upload=ContentFile(image_bytes(), name="l.jpg"))


# --- invitations -------------------------------------------------------------------------------
def _invite(shop, owner, email="helper@example.com", role=Role.MANAGER):
    return services.invite_staff(actor=owner, shop=shop, email=email, role=role)


def test_an_invitation_is_mailed_once_after_commit(django_capture_on_commit_callbacks):
    shop, owner = shop_with_owner(name="Riga Knits")

    with django_capture_on_commit_callbacks(execute=True):
        invitation = _invite(shop, owner, email="Helper@Example.com")

    assert invitation.email == "helper@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["helper@example.com"]
    assert invitation.token in mail.outbox[0].body


def test_accepting_an_invitation_adds_the_person_with_the_role():
    shop, owner = shop_with_owner()
    helper = UserFactory(email="helper@example.com")
    invitation = _invite(shop, owner, email="HELPER@example.com", role=Role.SUPPORT)

    membership = services.accept_invitation(user=helper, token=invitation.token)

    assert (membership.shop, membership.user, membership.role) == (shop, helper, Role.SUPPORT)
    invitation.refresh_from_db()
    assert invitation.accepted_by == helper and not invitation.is_pending


def test_an_invitation_for_another_address_is_refused():
    shop, owner = shop_with_owner()
    invitation = _invite(shop, owner, email="helper@example.com")

    with pytest.raises(InvitationInvalid, match=r"helper@example\.com"):
        services.accept_invitation(user=UserFactory(email="someone@example.com"), token=invitation.token)

    assert Membership.objects.filter(shop=shop).count() == 1


def test_an_expired_invitation_is_refused():
    shop, owner = shop_with_owner()
    invitation = _invite(shop, owner)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(InvitationInvalid):
        services.accept_invitation(user=UserFactory(email="helper@example.com"), token=invitation.token)


def test_a_revoked_invitation_is_refused():
    shop, owner = shop_with_owner()
    invitation = _invite(shop, owner)
    services.revoke_invitation(actor=owner, shop=shop, invitation_id=invitation.pk)

    with pytest.raises(InvitationInvalid):
        services.accept_invitation(user=UserFactory(email="helper@example.com"), token=invitation.token)


def test_an_invitation_is_accepted_once():
    shop, owner = shop_with_owner()
    helper = UserFactory(email="helper@example.com")
    invitation = _invite(shop, owner)
    services.accept_invitation(user=helper, token=invitation.token)

    with pytest.raises(InvitationInvalid):
        services.accept_invitation(user=helper, token=invitation.token)

    assert Membership.objects.filter(shop=shop, user=helper).count() == 1


def test_an_unknown_invitation_token_is_not_found():
    with pytest.raises(ShopNotFound):
        services.accept_invitation(user=UserFactory(), token="nope")


def test_a_new_invitation_replaces_the_pending_one_for_the_same_address():
    shop, owner = shop_with_owner()
    first = _invite(shop, owner, role=Role.SUPPORT)

    second = _invite(shop, owner, email="HELPER@example.com", role=Role.MANAGER)

    first.refresh_from_db()
    assert first.revoked_at is not None and second.is_pending


def test_inviting_someone_already_on_the_staff_is_refused():
    shop, owner = shop_with_owner()

    with pytest.raises(InvitationInvalid):
        _invite(shop, owner, email=owner.email.upper())


def test_an_invitation_needs_a_known_role_and_a_valid_address():
    shop, owner = shop_with_owner()

    with pytest.raises(ShopInvalid):
        _invite(shop, owner, role="boss")
    with pytest.raises(ValidationFailed):
        _invite(shop, owner, email="not-an-address")
    assert not Invitation.objects.exists()


def test_an_accepted_invitation_cannot_be_revoked():
    shop, owner = shop_with_owner()
    invitation = _invite(shop, owner)
    services.accept_invitation(user=UserFactory(email="helper@example.com"), token=invitation.token)

    with pytest.raises(InvitationInvalid):
        services.revoke_invitation(actor=owner, shop=shop, invitation_id=invitation.pk)


# --- roles and the last owner ----------------------------------------------------------------
def test_the_only_owner_cannot_step_down():
    shop, owner = shop_with_owner()

    with pytest.raises(LastOwner) as exc:
        services.change_role(actor=owner, shop=shop, user_id=owner.pk, role=Role.MANAGER)

    assert exc.value.status == 409
    assert selectors.role_of(UserFactory._meta.model.objects.get(pk=owner.pk), shop) == Role.OWNER


def test_an_owner_can_step_down_once_there_is_another_owner():
    shop, owner = shop_with_owner()
    other = _staff(shop, Role.MANAGER)
    services.change_role(actor=owner, shop=shop, user_id=other.pk, role=Role.OWNER)

    services.change_role(actor=owner, shop=shop, user_id=owner.pk, role=Role.SUPPORT)

    roles = dict(Membership.objects.filter(shop=shop).values_list("user_id", "role"))
    assert roles == {owner.pk: Role.SUPPORT, other.pk: Role.OWNER}


def test_the_only_owner_cannot_be_removed_or_leave():
    shop, owner = shop_with_owner()

    with pytest.raises(LastOwner):
        services.remove_staff(actor=owner, shop=shop, user_id=owner.pk)

    assert Membership.objects.filter(shop=shop, user=owner).exists()


def test_owner_removes_staff_and_staff_may_leave_on_their_own():
    shop, owner = shop_with_owner()
    manager, support = _staff(shop, Role.MANAGER), _staff(shop, Role.SUPPORT)

    services.remove_staff(actor=owner, shop=shop, user_id=manager.pk)
    services.remove_staff(actor=support, shop=shop, user_id=support.pk)

    assert list(Membership.objects.filter(shop=shop).values_list("user_id", flat=True)) == [owner.pk]


def test_staff_without_the_right_cannot_remove_others_or_change_roles():
    shop, owner = shop_with_owner()
    manager = _staff(shop, Role.MANAGER)

    with pytest.raises(ShopPermissionDenied):
        services.remove_staff(actor=manager, shop=shop, user_id=owner.pk)
    with pytest.raises(ShopPermissionDenied):
        services.change_role(actor=manager, shop=shop, user_id=manager.pk, role=Role.OWNER)

    assert selectors.role_of(UserFactory._meta.model.objects.get(pk=manager.pk), shop) == Role.MANAGER


def test_changing_the_role_of_a_stranger_is_not_found():
    shop, owner = shop_with_owner()

    with pytest.raises(ShopNotFound):
        services.change_role(actor=owner, shop=shop, user_id=UserFactory().pk, role=Role.SUPPORT)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["change_role", "remove_staff"])
def test_an_owner_demoted_after_the_first_check_cannot_finish_a_staff_change(action):
    shop, owner = shop_with_owner()
    other_owner = MembershipFactory(shop=shop, role=Role.OWNER).user
    manager = MembershipFactory(shop=shop, role=Role.MANAGER).user
    # Given the actor's role was read (and cached on the request's user) while still owner...
    assert selectors.role_of(owner, shop) == Role.OWNER
    # ...and another owner demotes them in the meantime,
    services.change_role(actor=other_owner, shop=shop, user_id=owner.pk, role=Role.SUPPORT)
    # when they go on with their change, the check under the staff lock refuses it.
    with pytest.raises(ShopPermissionDenied):
        if action == "change_role":
            services.change_role(actor=owner, shop=shop, user_id=manager.pk, role=Role.OWNER)
        else:
            services.remove_staff(actor=owner, shop=shop, user_id=manager.pk)
    assert Membership.objects.get(shop=shop, user=manager).role == Role.MANAGER
