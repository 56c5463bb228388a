"""The built-in sandbox gateway: real bookkeeping, no money. The default in embedded mode and in tests.

Test methods decide the outcome: "sandbox_card" approves, "sandbox_decline" and "sandbox_insufficient_funds"
decline, "sandbox_timeout" approves but the call "times out" (the caller gets GatewayTimeout and has to
retrieve the truth later). The sandbox keeps its charges in its own tables (SandboxCharge, SandboxRefund),
so ``retrieve`` after a timeout tells what it really did. Every call is idempotent on its key.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from agora.payments.gateways.base import (
    AuthorizeRequest,
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    GatewayTimeout,
    PaymentGateway,
    PaymentMethodOption,
)
from agora.payments.models import PaymentStatus, RefundStatus, SandboxCharge, SandboxRefund

APPROVE = "sandbox_card"
DECLINE = "sandbox_decline"
INSUFFICIENT_FUNDS = "sandbox_insufficient_funds"
TIMEOUT = "sandbox_timeout"

# method -> (decline code, message), for the methods that decline.
DECLINES: dict[str, tuple[str, str]] = {
    DECLINE: ("card_declined", gettext_noop("The card was declined. Use another card.")),
    INSUFFICIENT_FUNDS: ("insufficient_funds", gettext_noop("The card has insufficient funds. Use another card.")),
}


def _result(charge: SandboxCharge) -> GatewayPayment:
    code = charge.decline_code
    message = ""
    for decline_code, text in DECLINES.values():
        if decline_code == code:
            message = _(text)
    return GatewayPayment(
        reference=charge.reference,
        status=charge.status,
        amount=charge.amount,
        captured_amount=charge.captured_amount,
        refunded_amount=charge.refunded_amount,
        failure_code=code,
        failure_message=message,
    )


def _refund_result(refund: SandboxRefund) -> GatewayRefund:
    return GatewayRefund(
        reference=refund.reference, amount=refund.amount, status=RefundStatus.SUCCEEDED, refund_id=refund.refund_id
    )


class SandboxGateway(PaymentGateway):
    name = "sandbox"

    def methods(self) -> list[PaymentMethodOption]:
        return [
            PaymentMethodOption(APPROVE, _("Test card"), _("Always approved. No money moves."), self.name, test=True),
            PaymentMethodOption(DECLINE, _("Test card: declined"), _("Always declined."), self.name, test=True),
            PaymentMethodOption(
                INSUFFICIENT_FUNDS,
                _("Test card: insufficient funds"),
                _("Always declined for insufficient funds."),
                self.name,
                test=True,
            ),
            PaymentMethodOption(
                TIMEOUT,
                _("Test card: gateway times out"),
                _("Approved, but the answer is lost: the payment stays unknown until it is reconciled."),
                self.name,
                test=True,
            ),
        ]

    def authorize(self, request: AuthorizeRequest) -> GatewayPayment:
        if not self.supports(request.method):
            raise GatewayError(f"unknown sandbox method {request.method!r}", code="unknown_method")
        decline = DECLINES.get(request.method)
        if decline:
            status, code = PaymentStatus.FAILED, decline[0]
        else:
            status, code = (PaymentStatus.CAPTURED if request.capture else PaymentStatus.AUTHORIZED), ""
        try:
            with transaction.atomic():
                charge = SandboxCharge.objects.create(
                    idempotency_key=request.idempotency_key,
                    amount=request.amount,
                    currency=request.currency,
                    method=request.method,
                    status=status,
                    captured_amount=request.amount if status == PaymentStatus.CAPTURED else Decimal(0),
                    decline_code=code,
                )
        except IntegrityError:
            # A retry of a call the sandbox already answered: the same answer, nothing new.
            return _result(SandboxCharge.objects.get(idempotency_key=request.idempotency_key))
        if request.method == TIMEOUT:
            # The charge is made and kept; only the answer is lost.
            raise GatewayTimeout("sandbox: the gateway did not answer in time")
        return _result(charge)

    def _locked(self, reference: str) -> SandboxCharge:
        charge = SandboxCharge.objects.select_for_update().filter(reference=reference).first()
        if charge is None:
            raise GatewayError(f"sandbox: no charge {reference!r}", code="no_such_charge")
        return charge

    def capture(self, *, reference: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayPayment:
        with transaction.atomic():
            charge = self._locked(reference)
            if charge.status == PaymentStatus.AUTHORIZED:
                if amount > charge.amount:
                    raise GatewayError("sandbox: cannot capture more than was authorised", code="amount_too_large")
                charge.status = PaymentStatus.CAPTURED
                charge.captured_amount = amount
                charge.save(update_fields=["status", "captured_amount", "updated_at"])
            elif charge.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
                raise GatewayError(f"sandbox: cannot capture a {charge.status} charge", code="charge_state")
            return _result(charge)

    def void(self, *, reference: str, idempotency_key: str) -> GatewayPayment:
        with transaction.atomic():
            charge = self._locked(reference)
            if charge.status == PaymentStatus.AUTHORIZED:
                charge.status = PaymentStatus.VOIDED
                charge.save(update_fields=["status", "updated_at"])
            elif charge.status != PaymentStatus.VOIDED:
                raise GatewayError(f"sandbox: cannot void a {charge.status} charge", code="charge_state")
            return _result(charge)

    def refund(
        self, *, reference: str, amount: Decimal, currency: str, reason: str, refund_id: str, idempotency_key: str
    ) -> GatewayRefund:
        with transaction.atomic():
            charge = self._locked(reference)
            done = SandboxRefund.objects.filter(idempotency_key=idempotency_key).first()
            if done is not None:
                return _refund_result(done)
            if charge.status not in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
                raise GatewayError(f"sandbox: cannot refund a {charge.status} charge", code="charge_state")
            if amount <= 0 or amount > charge.captured_amount - charge.refunded_amount:
                raise GatewayError("sandbox: the refund exceeds what is left of the charge", code="amount_too_large")
            refund = SandboxRefund.objects.create(
                charge=charge, idempotency_key=idempotency_key, amount=amount, refund_id=refund_id
            )
            charge.refunded_amount += amount
            charge.status = (
                PaymentStatus.REFUNDED
                if charge.refunded_amount == charge.captured_amount
                else PaymentStatus.PARTIALLY_REFUNDED
            )
            charge.save(update_fields=["refunded_amount", "status", "updated_at"])
            return _refund_result(refund)

    def retrieve(self, *, reference: str, request: AuthorizeRequest | None = None) -> GatewayPayment | None:
        charges = SandboxCharge.objects.all()
        if reference:
            charge = charges.filter(reference=reference).first()
        elif request is not None:
            charge = charges.filter(idempotency_key=request.idempotency_key).first()
        else:
            charge = None
        return _result(charge) if charge is not None else None

    def refunds(self, *, reference: str) -> list[GatewayRefund]:
        return [_refund_result(r) for r in SandboxRefund.objects.filter(charge__reference=reference)]
