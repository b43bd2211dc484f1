"""The webhook receivers' own lane: a channel's POST to a receiver path skips Django's URL resolver, middleware
stack and request signals, and runs the same view with the same guards.

Why: at a sale's peak every channel posts at once, and the stack around the receiver cost more than the
receiver's own work (route, verify, one INSERT); `bench/webhooks.py` measures both. The lane takes only POSTs
to the fixed receiver paths (`WEBHOOK_PATHS`); everything else, and a delivery Django would redirect to https,
goes through Django unchanged. What the skipped middleware does for these requests is done here: the body size
limit, the NUL guard, the security and frame headers, and Django's exception handling and request signals.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestDataTooBig
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.log import log_response

from channels_sync.services.channels import WEBHOOK_PATHS
from channels_sync.webhook_views import webhook_receiver
from core.middleware import nul_character_refusal, payload_too_large, size_refusal


class WebhookLane:
    """WSGI middleware around Django's application (config/wsgi.py). Like Django's own handler it sends
    `request_started`, and `request_finished` when the server closes the response (connections past
    CONN_MAX_AGE or left unusable are closed there), and logs 4xx/5xx answers to `django.request`."""

    def __init__(self, application):
        self.application = application
        self.providers = {path: provider for provider, path in WEBHOOK_PATHS.items()}
        # Only their process_response is used: the headers every response of the site carries.
        self.response_headers = (SecurityMiddleware(lambda request: None),
                                 XFrameOptionsMiddleware(lambda request: None))

    def __call__(self, environ, start_response):
        is_post = environ.get("REQUEST_METHOD") == "POST"
        provider_name = self.providers.get(environ.get("PATH_INFO")) if is_post else None
        if provider_name is None:
            return self.application(environ, start_response)
        request = WSGIRequest(environ)  # reads nothing yet: the environ can still go to Django whole
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return self.application(environ, start_response)  # Django's SecurityMiddleware redirects it
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            response = self.respond(request, provider_name)
        except Exception as exc:  # as Django would: logged, signalled, answered by handler500
            response = response_for_exception(request, exc)
        for middleware in self.response_headers:
            response = middleware.process_response(request, response)
        if response.status_code >= 400:
            log_response("%s: %s", response.reason_phrase, request.path, response=response, request=request)
        response._handler_class = self.__class__  # the sender of request_finished, sent by response.close()
        response._resource_closers.append(request.close)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response

    @staticmethod
    def respond(request: WSGIRequest, provider_name: str):
        refusal = size_refusal(request) or nul_character_refusal(request)
        if refusal is not None:
            return refusal
        try:
            return webhook_receiver(request, provider_name)
        except RequestDataTooBig:
            return payload_too_large()
