"""Writes for payments: start, capture, void, refund, reconcile, and the Stripe webhook's updates.

Each status change happens in one transaction, under a row lock on the Payment, and sends
``payment_status_changed`` inside that transaction (see signals.py). The gateway is the source of truth:
what it reports is applied as long as it moves the payment forward (a late "captured" after "failed" is
applied; a stale "authorised" after "captured" is not). A payment is never captured twice (the capture
call is idempotent and checked under the lock) and never refunded beyond what was captured (the check
counts pending refunds, under the lock).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from agora.accounts.models import User
from agora.core.errors import ValidationFailed
from agora.core.money import check_currency, format_money, to_amount
from agora.core.text import clean_text
from agora.payments.errors import (
    PaymentGatewayFailed,
    PaymentInvalid,
    PaymentKeyReused,
    PaymentStateError,
    RefundTooLarge,
)
from agora.payments.gateways import get_gateway
from agora.payments.gateways.base import (
    AuthorizeRequest,
    GatewayError,
    GatewayPayment,
    GatewayRefund,
    GatewayTimeout,
    PaymentGateway,
    PaymentMethodOption,
)
from agora.payments.models import (
    PAID,
    UNSETTLED,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from agora.payments.signals import payment_status_changed, refund_status_changed

logger = logging.getLogger("agora.payments")

S = PaymentStatus
# Where a status may move when the gateway (or an operation) says so. Anything else is a stale report.
_ALLOWED: dict[str, frozenset[str]] = {
    S.PENDING: frozenset(set(S) - {S.PENDING}),
    S.UNKNOWN: frozenset(set(S) - {S.PENDING, S.UNKNOWN}),
    S.REQUIRES_ACTION: frozenset(set(S) - {S.REQUIRES_ACTION, S.UNKNOWN}),
    S.AUTHORIZED: frozenset({S.CAPTURED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.VOIDED, S.UNKNOWN}),
    S.CAPTURED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.CAPTURED, S.REFUNDED}),
    S.REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.CAPTURED}),
    S.VOIDED: frozenset(),
    # The gateway charged after all (an answer that came late): the money was taken, so it is recorded.
    S.FAILED: frozenset({S.AUTHORIZED, S.CAPTURED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.REQUIRES_ACTION}),
}
MAX_KEY = 200


# --- checks ---------------------------------------------------------------------------------
def _invalid(exc: ValidationFailed) -> PaymentInvalid:
    return PaymentInvalid(exc.message, code=exc.code, field=exc.field)


def _amount(value: object, currency: str) -> Decimal:
    try:
        amount = to_amount(value, currency, field="amount")
    except ValidationFailed as exc:
        raise _invalid(exc) from None
    if amount <= 0:
        raise PaymentInvalid(_("The amount must be more than zero."), code="invalid_amount", field="amount")
    return amount


def _key(value: str, *, field: str = "idempotency_key") -> str:
    key = (value or "").strip()
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise PaymentInvalid(
            _("An idempotency key of 1 to %(max)d characters is required.") % {"max": MAX_KEY},
            code="invalid_idempotency_key",
            field=field,
        )
    return key


def _paid_status(payment: Payment) -> str:
    if payment.refunded_amount <= 0:
        return S.CAPTURED
    if payment.refunded_amount >= payment.captured_amount:
        return S.REFUNDED
    return S.PARTIALLY_REFUNDED


def _lock(payment: Payment) -> Payment:
    return Payment.objects.select_for_update(of=("self",)).select_related("payer").get(pk=payment.pk)


def _authorize_request(payment: Payment, gateway: PaymentGateway | None = None) -> AuthorizeRequest | None:
    """The authorise call of ``payment``, exactly as first sent (same key), or None once the gateway forgot it."""
    window = getattr(gateway, "replay_window", None)
    if window is not None and payment.created_at < timezone.now() - window:
        return None
    return AuthorizeRequest(
        amount=payment.amount,
        currency=payment.currency,
        method=payment.method,
        capture=payment.capture,
        idempotency_key=f"agora-{payment.public_id}-authorize",
        description=payment.description or payment.reference,
        payer_email=payment.payer_email,
        metadata={"payment": payment.public_id, "reference": payment.reference},
    )


# --- applying what the gateway says ---------------------------------------------------------
def _record(payment: Payment, previous: str, *, source: str, message: str = "") -> None:
    """After ``payment`` was saved with a new status: its history, and the signal, inside the transaction."""
    PaymentEvent.objects.create(
        payment=payment, previous_status=previous, status=payment.status, source=source, message=message[:500]
    )
    logger.info(
        "payment_status",
        extra={"payment": payment.public_id, "from": previous, "to": payment.status, "source": source},
    )
    payment_status_changed.send(sender=Payment, payment=payment, previous=previous)


def _move_locked(payment: Payment, status: str, *, source: str, message: str = "") -> None:
    previous = payment.status
    if status == previous:
        return
    payment.status = status
    payment.save(update_fields=["status", "updated_at"])
    _record(payment, previous, source=source, message=message)


def _apply_locked(payment: Payment, result: GatewayPayment, gateway: PaymentGateway, *, source: str) -> None:
    """Apply the gateway's word on a payment locked by the caller."""
    previous = payment.status
    status = result.status
    if status == S.FAILED and result.retryable and previous == S.REQUIRES_ACTION:
        # A declined attempt in the browser: the shopper may still pay with another card.
        status = S.REQUIRES_ACTION
    if result.reference and not payment.gateway_reference:
        payment.gateway_reference = result.reference
    if status != previous and status not in _ALLOWED[previous]:
        logger.warning(
            "payment_stale_report",
            extra={"payment": payment.public_id, "status": previous, "reported": status, "source": source},
        )
        payment.save(update_fields=["gateway_reference", "updated_at"])
        return
    now = timezone.now()
    if status in (S.FAILED, S.REQUIRES_ACTION) and result.failure_code:
        payment.failure_code = result.failure_code[:64]
        payment.failure_message = result.failure_message[:500]
    elif status in (S.AUTHORIZED, *PAID):
        payment.failure_code = payment.failure_message = ""
    if result.client_secret:
        payment.client_secret = result.client_secret
    if status in (S.AUTHORIZED, *PAID) and payment.authorized_at is None:
        payment.authorized_at = now
    if status in PAID:
        payment.captured_amount = max(payment.captured_amount, min(result.captured_amount, payment.amount))
        if payment.captured_at is None:
            payment.captured_at = now
    payment.status = _paid_status(payment) if status in PAID else status
    payment.save()
    if payment.status != previous:
        _record(payment, previous, source=source, message=result.failure_message)
    if status in PAID and result.refunded_amount > payment.refunded_amount:
        # Refunds the gateway made that Agora has not recorded (a lost answer, or made in Stripe's dashboard):
        # recorded after the capture, so that receivers see "captured" first, then the refund.
        _sync_refunds_locked(payment, gateway, source=source)


def _recount_locked(payment: Payment, *, source: str) -> None:
    """refunded_amount is the sum of the succeeded refunds; the status follows it."""
    previous = payment.status
    total = payment.refunds.filter(status=RefundStatus.SUCCEEDED).aggregate(total=Sum("amount"))["total"]
    payment.refunded_amount = min(total or Decimal(0), payment.captured_amount)
    if payment.status in PAID:
        payment.status = _paid_status(payment)
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    if payment.status != previous:
        _record(payment, previous, source=source)


def _settle_refund_locked(payment: Payment, refund: Refund, result: GatewayRefund, *, source: str) -> None:
    previous = refund.status
    refund.status = result.status
    if result.reference:
        refund.gateway_reference = result.reference
    refund.failure_message = result.failure_message[:500]
    refund.save(update_fields=["status", "gateway_reference", "failure_message", "updated_at"])
    if refund.status != previous:
        _recount_locked(payment, source=source)
        refund_status_changed.send(sender=Refund, refund=refund, previous=previous)


def _sync_refunds_locked(payment: Payment, gateway: PaymentGateway, *, source: str) -> None:
    """Match the gateway's refunds with Agora's: settle pending ones, record those made outside Agora."""
    if not payment.gateway_reference:
        return
    ours = list(payment.refunds.all())
    by_id = {r.public_id: r for r in ours}
    by_reference = {r.gateway_reference: r for r in ours if r.gateway_reference}
    for found in gateway.refunds(reference=payment.gateway_reference):
        refund = by_id.get(found.refund_id) or by_reference.get(found.reference)
        if refund is None:
            refund = Refund.objects.create(
                payment=payment,
                amount=found.amount,
                currency=payment.currency,
                status=RefundStatus.PENDING,
                reason=_("Refunded outside Agora, at the payment provider."),
                gateway_reference=found.reference,
                idempotency_key=f"gateway:{payment.gateway}:{found.reference}",
            )
        if refund.status == RefundStatus.PENDING and found.status != RefundStatus.PENDING:
            _settle_refund_locked(payment, refund, found, source=source)


# --- services -------------------------------------------------------------------------------
def payment_methods() -> list[PaymentMethodOption]:
    """What checkout offers with the configured gateway (sandbox test cards, or a Stripe card)."""
    return get_gateway().methods()


def start_payment(
    *,
    amount: Decimal,
    currency: str,
    method: str,
    reference: str,
    payer: User | None,
    payer_email: str,
    capture: bool = True,
    idempotency_key: str,
    description: str = "",
) -> Payment:
    """Charge (or, with ``capture=False``, only authorise) ``amount`` through the configured gateway.

    The "pending" Payment is committed BEFORE the gateway is called, so call this outside any transaction:
    a timeout or a crash then leaves a record that reconciliation settles. Returns the Payment with its new
    status: "captured"/"authorized", "failed" (declined: failure_code/failure_message say why; no exception),
    "unknown" (the gateway did not answer; reconciliation resolves it) or "requires_action" (Stripe: the
    shopper confirms in the browser with ``client_secret``). The same ``idempotency_key`` returns the same
    Payment and never charges twice. Raises PaymentInvalid for a bad amount, currency, method or e-mail.
    """
    try:
        currency = check_currency(currency)
    except ValidationFailed as exc:
        raise _invalid(exc) from None
    amount = _amount(amount, currency)
    key = _key(idempotency_key)
    gateway = get_gateway()
    method = (method or "").strip()
    if not gateway.supports(method):
        offered = ", ".join(option.code for option in gateway.methods())
        raise PaymentInvalid(
            _("Unknown payment method '%(method)s'. Choose one of: %(offered)s.")
            % {"method": method, "offered": offered},
            code="unknown_method",
            field="method",
        )
    try:
        reference = clean_text(reference, field="reference", max_length=120, required=True)
        description = clean_text(description, field="description", max_length=255)
    except ValidationFailed as exc:
        raise _invalid(exc) from None
    payer_email = (payer_email or "").strip() or (payer.email if payer is not None else "")
    if payer_email:
        try:
            validate_email(payer_email)
        except DjangoValidationError:
            raise PaymentInvalid(
                _("'%(email)s' is not a valid e-mail address.") % {"email": payer_email},
                code="invalid_email",
                field="payer_email",
            ) from None

    try:
        with transaction.atomic():
            payment = Payment.objects.create(
                amount=amount,
                currency=currency,
                method=method,
                capture=capture,
                gateway=gateway.name,
                payer=payer,
                payer_email=payer_email,
                reference=reference,
                description=description,
                idempotency_key=key,
            )
            PaymentEvent.objects.create(payment=payment, status=payment.status, source="start")
    except IntegrityError:
        existing = Payment.objects.get(idempotency_key=key)
        if (existing.amount, existing.currency, existing.reference) != (amount, currency, reference):
            raise PaymentKeyReused(
                _("This idempotency key was already used for another payment (%(reference)s).")
                % {"reference": existing.reference},
                field="idempotency_key",
            ) from None
        # A retry: the first call settles the payment (or reconciliation does); never a second charge.
        return existing

    request = _authorize_request(payment)
    assert request is not None
    try:
        result = gateway.authorize(request)
    except GatewayTimeout as exc:
        with transaction.atomic():
            locked = _lock(payment)
            if locked.status == S.PENDING:
                _move_locked(locked, S.UNKNOWN, source="start", message=exc.message)
        return locked
    except GatewayError as exc:
        # The gateway refused the request itself: nothing was charged.
        result = GatewayPayment(
            reference="",
            status=S.FAILED,
            amount=amount,
            failure_code=exc.code,
            failure_message=_("The payment provider refused the request. Try again or use another method."),
        )
        logger.warning("payment_gateway_error", extra={"payment": payment.public_id, "error": exc.message})
    with transaction.atomic():
        locked = _lock(payment)
        _apply_locked(locked, result, gateway, source="start")
    return locked


def capture_payment(*, payment: Payment, amount: Decimal | None = None) -> Payment:
    """Capture an authorised payment: all of it, or ``amount`` (at most what was authorised).

    Capturing a payment that is already captured returns it unchanged: never a second capture. A gateway
    that does not answer leaves the payment "unknown" (reconciliation settles it).
    """
    gateway = get_gateway(payment.gateway)
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status in PAID:
            return locked
        if locked.status != S.AUTHORIZED:
            raise PaymentStateError(
                _("Only an authorised payment can be captured; this one is %(status)s.")
                % {"status": locked.get_status_display().lower()}
            )
        value = locked.amount if amount is None else _amount(amount, locked.currency)
        if value > locked.amount:
            raise PaymentInvalid(
                _("At most %(amount)s can be captured.") % {"amount": format_money(locked.amount, locked.currency)},
                code="amount_too_large",
                field="amount",
            )
        try:
            result = gateway.capture(
                reference=locked.gateway_reference,
                amount=value,
                currency=locked.currency,
                idempotency_key=f"agora-{locked.public_id}-capture",
            )
        except GatewayTimeout as exc:
            _move_locked(locked, S.UNKNOWN, source="capture", message=exc.message)
            return locked
        except GatewayError as exc:
            raise PaymentGatewayFailed(
                _("The payment provider refused the capture: %(error)s") % {"error": exc.message}
            ) from None
        _apply_locked(locked, result, gateway, source="capture")
    return locked


def void_payment(*, payment: Payment) -> Payment:
    """Release an authorisation (or cancel a payment the shopper has not confirmed). Voided or failed: unchanged."""
    gateway = get_gateway(payment.gateway)
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status in (S.VOIDED, S.FAILED):
            return locked
        if locked.status in PAID:
            raise PaymentStateError(_("This payment is already captured: refund it instead."))
        if locked.status in UNSETTLED or not locked.gateway_reference:
            raise PaymentStateError(
                _("The outcome of this payment is not known yet. Reconcile it first, then void it.")
            )
        try:
            result = gateway.void(reference=locked.gateway_reference, idempotency_key=f"agora-{locked.public_id}-void")
        except GatewayError as exc:
            raise PaymentGatewayFailed(
                _("The payment provider did not void the payment: %(error)s. Try again.") % {"error": exc.message}
            ) from None
        _apply_locked(locked, result, gateway, source="void")
    return locked


def refund_payment(*, payment: Payment, amount: Decimal, reason: str, idempotency_key: str) -> Refund:
    """Give back part or all of a captured payment.

    Never more than captured minus refunded (pending refunds count): RefundTooLarge says how much is left.
    The same ``idempotency_key`` returns the same Refund. A gateway that does not answer leaves the refund
    "pending" (reconciliation retries it with the same key); a refusal marks it "failed" and raises
    PaymentGatewayFailed.
    """
    key = _key(idempotency_key)
    value = _amount(amount, payment.currency)
    try:
        reason = clean_text(reason, field="reason", max_length=500)
    except ValidationFailed as exc:
        raise _invalid(exc) from None
    gateway = get_gateway(payment.gateway)
    failure: PaymentGatewayFailed | None = None
    with transaction.atomic():
        locked = _lock(payment)
        refund = Refund.objects.filter(idempotency_key=key).first()
        if refund is not None:
            if refund.payment_id != locked.pk or refund.amount != value:
                raise PaymentKeyReused(
                    _("This idempotency key was already used for another refund."), field="idempotency_key"
                )
            if refund.status == RefundStatus.PENDING:
                # A retry of a refund still pending: the gateway is asked how it ended, not sent it again.
                _retry_refund_locked(locked, refund, gateway)
                refund.refresh_from_db()
            return refund
        else:
            if locked.status not in PAID:
                raise PaymentStateError(
                    _("Only a captured payment can be refunded; this one is %(status)s.")
                    % {"status": locked.get_status_display().lower()}
                )
            pending = locked.refunds.filter(status=RefundStatus.PENDING).aggregate(total=Sum("amount"))["total"]
            left = locked.captured_amount - locked.refunded_amount - (pending or Decimal(0))
            if value > left:
                raise RefundTooLarge(
                    _("At most %(left)s can be refunded (%(captured)s captured, %(refunded)s refunded or pending).")
                    % {
                        "left": format_money(max(left, Decimal(0)), locked.currency),
                        "captured": format_money(locked.captured_amount, locked.currency),
                        "refunded": format_money(locked.captured_amount - left, locked.currency),
                    },
                    field="amount",
                )
            refund = Refund.objects.create(
                payment=locked, amount=value, currency=locked.currency, reason=reason, idempotency_key=key
            )
        try:
            result = gateway.refund(
                reference=locked.gateway_reference,
                amount=value,
                currency=locked.currency,
                reason=reason,
                refund_id=refund.public_id,
                idempotency_key=f"agora-{refund.public_id}",
            )
        except GatewayTimeout:
            return refund
        except GatewayError as exc:
            result = GatewayRefund(reference="", amount=value, status=RefundStatus.FAILED, failure_message=exc.message)
            failure = PaymentGatewayFailed(
                _("The payment provider refused the refund: %(error)s") % {"error": exc.message}
            )
        _settle_refund_locked(locked, refund, result, source="refund")
    if failure is not None:
        raise failure
    return refund


def reconcile_payment(*, payment: Payment) -> Payment:
    """Ask the gateway what really happened to ``payment`` and record it; retry its pending refunds.

    A payment the gateway never received becomes "failed" (code "not_processed": nothing was charged).
    Raises PaymentGatewayFailed when the gateway does not answer (try again later).
    """
    gateway = get_gateway(payment.gateway)
    with transaction.atomic():
        locked = _lock(payment)
        if locked.status not in (S.VOIDED,):
            try:
                result = gateway.retrieve(
                    reference=locked.gateway_reference, request=_authorize_request(locked, gateway)
                )
            except GatewayError as exc:
                raise PaymentGatewayFailed(
                    _("The payment provider did not answer: %(error)s. Try again later.") % {"error": exc.message}
                ) from None
            if result is None and locked.status in UNSETTLED:
                result = GatewayPayment(
                    reference="",
                    status=S.FAILED,
                    amount=locked.amount,
                    failure_code="not_processed",
                    failure_message=_("The payment provider never received this payment; nothing was charged."),
                )
            if result is not None:
                _apply_locked(locked, result, gateway, source="reconcile")
        for refund in locked.refunds.filter(status=RefundStatus.PENDING):
            _retry_refund_locked(locked, refund, gateway)
    return locked


def _retry_refund_locked(payment: Payment, refund: Refund, gateway: PaymentGateway) -> None:
    """Settle a pending refund: ask the gateway about it first, send it again only if the gateway never got it.

    Sending the create again for a refund the gateway has is not safe: its idempotency key expires (Stripe: after
    24 hours) and the same call then makes a second refund; while it lasts, the replay repeats the first answer
    ("pending") instead of saying how the refund ended.
    """
    if payment.gateway_reference:
        try:
            known = gateway.refunds(reference=payment.gateway_reference)
        except GatewayError:
            return  # asked again at the next reconciliation
        for found in known:
            if found.refund_id == refund.public_id or (
                refund.gateway_reference and found.reference == refund.gateway_reference
            ):
                if found.status != RefundStatus.PENDING:
                    _settle_refund_locked(payment, refund, found, source="reconcile")
                return
    try:
        result = gateway.refund(
            reference=payment.gateway_reference,
            amount=refund.amount,
            currency=refund.currency,
            reason=refund.reason,
            refund_id=refund.public_id,
            idempotency_key=f"agora-{refund.public_id}",
        )
    except GatewayTimeout:
        return
    except GatewayError as exc:
        result = GatewayRefund(
            reference="", amount=refund.amount, status=RefundStatus.FAILED, failure_message=exc.message
        )
    _settle_refund_locked(payment, refund, result, source="reconcile")


def reconcile_stale(*, older_than_seconds: int, limit: int = 200) -> dict[str, int]:
    """Reconcile payments left "pending"/"unknown" and refunds left "pending" for longer than the given age."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    ids = set(
        Payment.objects.filter(status__in=UNSETTLED, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    ids |= set(
        Refund.objects.filter(status=RefundStatus.PENDING, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("payment_id", flat=True)[:limit]
    )
    counts = {"checked": 0, "settled": 0, "errors": 0}
    for payment in Payment.objects.filter(pk__in=ids).order_by("pk"):
        counts["checked"] += 1
        try:
            after = reconcile_payment(payment=payment)
        except Exception:
            # One payment's trouble (gateway down, a receiver's bug) must not stop the others.
            logger.exception("payment_reconcile_failed", extra={"payment": payment.public_id})
            counts["errors"] += 1
            continue
        if after.status not in UNSETTLED:
            counts["settled"] += 1
    return counts


# --- Stripe webhook -------------------------------------------------------------------------
def _stripe_payment(obj: dict[str, Any], event_type: str) -> Payment | None:
    payments = Payment.objects.filter(gateway="stripe")
    if event_type.startswith("payment_intent."):
        found = payments.filter(gateway_reference=obj.get("id", "")).first()
        if found is None:
            # The create call's answer was lost, so the reference was never stored: our metadata names the payment.
            public_id = (obj.get("metadata") or {}).get("payment", "")
            found = payments.filter(public_id=public_id).first() if public_id else None
        return found
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return payments.filter(gateway_reference=intent).first() if intent else None


def handle_stripe_event(*, event_id: str, event_type: str, obj: dict[str, Any], livemode: bool = False) -> str:
    """Apply a verified Stripe event once: a replay of the same event id changes nothing.

    Returns what happened: "processed", "duplicate" or "ignored" (not about an Agora payment).
    """
    from agora.payments.gateways.stripe import intent_result
    from agora.payments.models import StripeEvent

    with transaction.atomic():
        try:
            with transaction.atomic():
                record = StripeEvent.objects.create(event_id=event_id, type=event_type, livemode=livemode)
        except IntegrityError:
            return "duplicate"
        payment = _stripe_payment(obj, event_type)
        if payment is None:
            return "ignored"
        locked = _lock(payment)
        record.payment = locked
        record.save(update_fields=["payment"])
        gateway = get_gateway("stripe")
        kind = event_type.partition(".")[0]
        if kind == "payment_intent":
            try:
                result = intent_result(obj)
            except GatewayError:
                return "ignored"
            _apply_locked(locked, result, gateway, source="webhook")
        elif kind == "charge":
            _sync_refunds_locked(locked, gateway, source="webhook")
        else:
            return "ignored"
    return "processed"
