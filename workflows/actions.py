"""The three workflow actions. Each raises RetryableActionError (try again later) or
ActionFailed (give up) and is safe to run again: emails are deduplicated by key, tags are sets."""

import hashlib
import hmac
import json
import time

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone

from core.http import guard_session
from core.outbound import OutboundURLRefused
from orders.links import order_email_url
from orders.models import EmailLog, Order
from workflows.conf import workflows_settings

SIGNATURE_HEADER = "X-Ordershub-Signature"
TEMPLATE_DIRS = ("workflows/emails", "emails")  # workflow templates first, then the storefront's own


class ActionFailed(Exception):
    """Permanent: retrying cannot help (refused URL, 4xx answer, missing template)."""


class RetryableActionError(Exception):
    """Temporary: network error, timeout, 429 or 5xx."""


def email_template_dir(template: str) -> str | None:
    for folder in TEMPLATE_DIRS:
        try:
            get_template(f"{folder}/{template}_subject.txt")
            get_template(f"{folder}/{template}_body.txt")
        except TemplateDoesNotExist:
            continue
        return folder
    return None


def send_email(*, order: Order, template: str, dedupe_key: str, workflow_name: str) -> str:
    """Render the template for the order's customer; recorded in the storefront's EmailLog."""
    folder = email_template_dir(template)
    if folder is None:
        raise ActionFailed(f"email template {template!r} does not exist")
    done = EmailLog.objects.filter(org_id=order.org_id, dedupe_key=dedupe_key, status=EmailLog.Status.SENT).first()
    if done:
        return f"already sent to {done.to}"
    context = {"order": order, "customer": order.customer, "org": order.org, "lines": list(order.lines.all()),
               "workflow": workflow_name,
               # The order's signed page (HTML), never the JSON API: customers open these links.
               "lookup_url": order_email_url(order), "order_url": order_email_url(order)}
    subject = " ".join(render_to_string(f"{folder}/{template}_subject.txt", context).split())
    body = render_to_string(f"{folder}/{template}_body.txt", context)
    to = order.customer.email
    fields = {"order": order, "kind": template[:32], "to": to, "subject": subject[:255], "body": body}
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
    except Exception as exc:
        EmailLog.objects.update_or_create(org_id=order.org_id, dedupe_key=dedupe_key,
                                          defaults={**fields, "status": EmailLog.Status.FAILED,
                                                    "error": repr(exc)[:2000]})
        raise RetryableActionError(f"sending the email failed: {exc!r}") from exc
    EmailLog.objects.update_or_create(org_id=order.org_id, dedupe_key=dedupe_key,
                                      defaults={**fields, "status": EmailLog.Status.SENT, "error": ""})
    return f"sent to {to}"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(*, url: str, secret: str, payload: dict, event: str, delivery_id: str) -> dict:
    """POST the JSON body signed with HMAC-SHA256; refuses private targets (core.outbound)."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "ordershub-workflows/1",
        "X-Ordershub-Event": event,
        "X-Ordershub-Delivery": delivery_id,
        SIGNATURE_HEADER: sign(secret, body),
    }
    started = time.monotonic()
    try:
        # No redirects: a public URL must not bounce the request to a private one.
        # core.http's guarded session resolves once, refuses private targets and connects to the checked address.
        response = guard_session().post(url, data=body, headers=headers, allow_redirects=False,
                                        timeout=workflows_settings.WORKFLOW_WEBHOOK_TIMEOUT_SECONDS)
    except OutboundURLRefused as exc:
        raise ActionFailed(f"refused: {exc}") from exc
    except requests.RequestException as exc:
        raise RetryableActionError(f"{type(exc).__name__}: {exc}") from exc
    attempt = {"statusCode": response.status_code, "durationMs": int((time.monotonic() - started) * 1000),
               "at": timezone.now().isoformat()}
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableActionError(f"HTTP {response.status_code}")
    if not 200 <= response.status_code < 300:
        raise ActionFailed(f"HTTP {response.status_code}")
    return attempt
