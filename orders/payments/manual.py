"""Manual payments (bank transfer, cash, an external terminal, invoices): the hub only records refunds and
charges, and never refuses one."""

import hashlib

from orders.payments.base import ChargeResult, PaymentGateway, RefundResult


class ManualGateway(PaymentGateway):
    name = "manual"

    def refund(self, *, payment, amount, currency, idempotency_key, reason, metadata) -> RefundResult:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return RefundResult(reference=f"manual_{digest}", status="succeeded")

    def charge(self, *, amount, currency, gateway_customer, payment_method, idempotency_key, description,
               metadata) -> ChargeResult:
        digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        return ChargeResult(reference=f"manual_{digest}", status="succeeded")
