import pytest

from tests.tracking.conftest import _tracking_settings  # noqa: F401 - same EasyPost test settings


@pytest.fixture
def browser():
    """A Django test client that enforces CSRF like a browser would meet it."""
    from django.test import Client

    return Client(enforce_csrf_checks=True)
