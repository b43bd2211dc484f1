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
        self.run_ids: list[tuple[str, int | None]] = []  # (handler path, EventHandlerRun id) per task
        self.countdowns: list[float | None] = []  # per task: the countdown it was sent with (a retry's wait)
        self._run_of: dict[tuple[str, int], int | None] = {}

    def names(self) -> list[str]:
        return [payload["name"] for _, payload in self.calls]

    def run_all(self, only=("orders.", "tests.orders.")):
        """Run the queued task bodies as a worker would; other apps' subscribers are theirs to test."""
        from orders.tasks import run_event_handler

        calls, self.calls = self.calls, []
        for handler, payload in calls:
            if handler.startswith(only):
                run_event_handler(handler, payload, self._run_of.get((handler, id(payload))))


@pytest.fixture
def dispatched(monkeypatch):
    from orders.tasks import run_event_handler

    recorder = Dispatched()

    def record(args, **kw):
        run_id = args[2] if len(args) > 2 else None
        recorder.calls.append((args[0], args[1]))
        recorder.run_ids.append((args[0], run_id))
        recorder.countdowns.append(kw.get("countdown"))
        recorder._run_of[(args[0], id(args[1]))] = run_id

    monkeypatch.setattr(run_event_handler, "apply_async", record)
    return recorder
