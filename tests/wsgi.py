"""Calling the WSGI application directly in a test, as a server would."""

import contextlib

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@contextlib.contextmanager
def connections_kept():
    """As Django's test client does: the request signals must not close the connection holding the test's
    transaction (a request outside the client would otherwise end it)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
