"""Reads for payments."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.payments.errors import PaymentNotFound
from agora.payments.models import Payment, Refund


def is_operator(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_staff)


def get_payment(*, public_id: str, viewer: User | AnonymousUser) -> Payment:
    """A payment its payer (or the operator's staff) may see; a 404 for anybody else, as if it did not exist."""
    payment = (
        Payment.objects.select_related("payer")
        .prefetch_related(Prefetch("refunds", queryset=Refund.objects.order_by("created_at", "id")))
        .filter(public_id=public_id)
        .first()
    )
    if payment is None or not (is_operator(viewer) or (viewer.is_authenticated and payment.payer_id == viewer.pk)):
        raise PaymentNotFound(_("No payment %(id)s.") % {"id": public_id})
    return payment


def payments_for_reference(reference: str) -> list[Payment]:
    """Every payment started for one caller's reference (e.g. "checkout:12"), newest first."""
    return list(Payment.objects.filter(reference=reference).order_by("-created_at", "-id"))
