"""The ledger: balanced movements only, idempotent keys, balances per shop and currency."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agora.accounts.tests.factories import UserFactory
from agora.core.errors import PermissionDenied, ValidationFailed
from agora.ledger import selectors, services
from agora.ledger.errors import LedgerUnbalanced
from agora.ledger.models import Account, Kind, LedgerEntry, LedgerTransaction
from agora.shops.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


def test_an_unbalanced_movement_is_refused():
    shop = ShopFactory()
    with pytest.raises(LedgerUnbalanced):
        services.record(
            kind=Kind.ORDER_PAID,
            key="bad",
            shop=shop,
            currency="EUR",
            legs=[(Account.GATEWAY, None, Decimal("10")), (Account.SHOP_PENDING, shop, Decimal("-9.99"))],
        )
    assert not LedgerTransaction.objects.exists()


def test_recording_is_idempotent_by_key():
    shop = ShopFactory()
    for _ in range(2):
        services.record_order_paid(
            shop=shop, order_id=7, currency="EUR", total=Decimal("20.00"), commission=Decimal("2.00")
        )
    assert LedgerTransaction.objects.count() == 2  # paid + commission, once each
    assert LedgerEntry.objects.count() == 4
    assert selectors.ledger_is_balanced()


def test_balance_moves_from_pending_to_payable_and_back_with_refunds():
    shop, other = ShopFactory(), ShopFactory()
    services.record_order_paid(shop=shop, order_id=1, currency="EUR", total=Decimal("50.00"), commission=Decimal("5"))
    services.record_order_paid(shop=other, order_id=2, currency="USD", total=Decimal("9.99"), commission=Decimal("1"))
    [balance] = selectors.shop_balance(shop)
    assert (balance.currency, balance.pending, balance.payable) == ("EUR", Decimal("45.00"), Decimal("0.00"))
    services.record_payout_due(shop=shop, order_id=1, currency="EUR")
    [balance] = selectors.shop_balance(shop)
    assert (balance.pending, balance.payable) == (Decimal("0.00"), Decimal("45.00"))
    services.record_refund(
        shop=shop, order_id=1, currency="EUR", amount=Decimal("10.00"), commission_back=Decimal("1.00"), key="r1"
    )
    [balance] = selectors.shop_balance(shop)
    assert balance.payable == Decimal("36.00")
    assert selectors.account_total(Account.COMMISSION, "EUR") == Decimal("-4.00")
    assert selectors.account_total(Account.GATEWAY, "EUR") == Decimal("40.00")
    assert [b.currency for b in selectors.shop_balance(other)] == ["USD"]
    assert selectors.ledger_is_balanced()


def test_payouts_are_for_operator_staff():
    shop = ShopFactory()
    services.record_order_paid(shop=shop, order_id=1, currency="EUR", total=Decimal("10"), commission=Decimal("1"))
    services.record_payout_due(shop=shop, order_id=1, currency="EUR")
    with pytest.raises(PermissionDenied):
        services.record_payout(actor=UserFactory(), shop=shop, amount="9.00", currency="EUR")
    services.record_payout(actor=UserFactory(is_staff=True), shop=shop, amount="9.00", currency="EUR")
    assert selectors.shop_balance(shop)[0].total == 0
    assert selectors.ledger_is_balanced()


def test_rounding_to_the_currency():
    assert services.commission_for(amount=Decimal("19.99"), rate=Decimal("0.10"), currency="EUR") == Decimal("2.00")
    assert services.commission_for(amount=Decimal("1999"), rate=Decimal("0.10"), currency="JPY") == Decimal("200")
    assert services.commission_for(amount=Decimal("1.234"), rate=Decimal("0.5"), currency="KWD") == Decimal("0.617")


def test_a_corrupted_ledger_is_noticed():
    shop = ShopFactory()
    services.record_order_paid(shop=shop, order_id=1, currency="EUR", total=Decimal("10"), commission=Decimal("1"))
    assert selectors.ledger_is_balanced()
    LedgerEntry.objects.filter(account=Account.GATEWAY).update(amount=Decimal("11"))
    assert not selectors.ledger_is_balanced()


def test_shop_movements_list_in_two_queries(django_assert_num_queries):
    shop = ShopFactory()
    for order_id in range(5):
        services.record_order_paid(
            shop=shop, order_id=order_id, currency="EUR", total=Decimal("10"), commission=Decimal("1")
        )
    with django_assert_num_queries(2):
        movements = list(selectors.shop_movements(shop))
        assert sum(len(m.entries.all()) for m in movements) == 20


def test_a_payout_cannot_be_more_than_the_shop_is_owed():
    shop = ShopFactory()
    services.record_order_paid(shop=shop, order_id=1, currency="EUR", total=Decimal("10"), commission=Decimal("1"))
    operator = UserFactory(is_staff=True)
    with pytest.raises(ValidationFailed) as exc:  # still pending: nothing payable before delivery
        services.record_payout(actor=operator, shop=shop, amount="1.00", currency="EUR")
    assert exc.value.code == "payout_too_large"
    services.record_payout_due(shop=shop, order_id=1, currency="EUR")
    with pytest.raises(ValidationFailed):
        services.record_payout(actor=operator, shop=shop, amount="9.01", currency="EUR")
    services.record_payout(actor=operator, shop=shop, amount="9.00", currency="EUR")
    assert selectors.shop_balance(shop)[0].payable == 0
    assert selectors.ledger_is_balanced()


def test_payout_api_is_for_the_operator_and_idempotent(api_as):
    shop = ShopFactory()
    services.record_order_paid(shop=shop, order_id=1, currency="EUR", total=Decimal("10"), commission=Decimal("1"))
    services.record_payout_due(shop=shop, order_id=1, currency="EUR")
    body = {"amount": "4.00", "currency": "EUR", "reference": "SEPA 42"}
    assert api_as(UserFactory()).call("POST", f"shops/{shop.slug}/payouts", body).status_code == 403
    operator = api_as(UserFactory(is_staff=True))
    headers = {"Idempotency-Key": "payout-1"}
    first = operator.call("POST", f"shops/{shop.slug}/payouts", body, headers=headers)
    again = operator.call("POST", f"shops/{shop.slug}/payouts", body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["kind"] == "payout"
    assert selectors.shop_balance(shop)[0].payable == Decimal("5.00")
    too_much = operator.call("POST", f"shops/{shop.slug}/payouts", {**body, "amount": "5.01"})
    assert too_much.status_code == 422 and too_much.json()["code"] == "payout_too_large"
    assert selectors.ledger_is_balanced()
