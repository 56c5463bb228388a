"""API shapes for payments. Amounts travel as decimal strings next to their currency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ninja import Field, Schema

from agora.catalog.schemas import money_str


class PaymentMethodOut(Schema):
    code: str = Field(..., description="What to send as `payment_method` at checkout.")
    label: str
    description: str
    gateway: str
    test: bool = Field(..., description="A test method: no real money moves.")
    publishable_key: str | None = Field(None, description="Stripe: the publishable key for Stripe.js.")

    @staticmethod
    def resolve_publishable_key(obj: Any) -> str | None:
        return obj.publishable_key or None


class PaymentMethodsOut(Schema):
    gateway: str
    methods: list[PaymentMethodOut]


class RefundOut(Schema):
    id: str = Field(..., alias="public_id")
    amount: str
    currency: str
    status: str
    reason: str
    created_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return money_str(obj.amount, obj.currency) or "0"


class PaymentOut(Schema):
    id: str = Field(..., alias="public_id")
    status: str
    amount: str
    currency: str
    captured_amount: str
    refunded_amount: str
    gateway: str
    method: str
    reference: str
    failure_code: str
    failure_message: str
    client_secret: str | None = Field(
        None, description="Stripe, while `status` is `requires_action`: confirm the payment with Stripe.js."
    )
    refunds: list[RefundOut]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_amount(obj: Any) -> str:
        return money_str(obj.amount, obj.currency) or "0"

    @staticmethod
    def resolve_captured_amount(obj: Any) -> str:
        return money_str(obj.captured_amount, obj.currency) or "0"

    @staticmethod
    def resolve_refunded_amount(obj: Any) -> str:
        return money_str(obj.refunded_amount, obj.currency) or "0"

    @staticmethod
    def resolve_client_secret(obj: Any) -> str | None:
        return (obj.client_secret or None) if obj.status == "requires_action" else None

    @staticmethod
    def resolve_refunds(obj: Any) -> list[Any]:
        return list(obj.refunds.all())
