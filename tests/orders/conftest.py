import pytest

from tests.orders.factories import stock


@pytest.fixture
def stocked(org):
    return stock(org, A=10, B=10)


@pytest.fixture
def public_client(org):
    from rest_framework.test import APIClient

    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    return client


class Dispatched:
    """Tasks queued by order events after commit: (handler path, payload) pairs, run on demand."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def names(self) -> list[str]:
        return [payload["name"] for _, payload in self.calls]

    def run_all(self, only=("orders.", "tests.orders.")):
        """Run the queued task bodies as a worker would; other apps' subscribers are theirs to test."""
        from orders.tasks import run_event_handler

        calls, self.calls = self.calls, []
        for handler, payload in calls:
            if handler.startswith(only):
                run_event_handler(handler, payload)


@pytest.fixture
def dispatched(monkeypatch):
    from orders.tasks import run_event_handler

    recorder = Dispatched()
    monkeypatch.setattr(run_event_handler, "apply_async",
                        lambda args, **kw: recorder.calls.append((args[0], args[1])))
    return recorder
