import pytest

from core.tasks import echo
from tests.workers import running_worker


@pytest.mark.worker
@pytest.mark.redis
def test_a_task_travels_through_redis_to_a_real_worker_and_back():
    with running_worker():
        result = echo.delay({"hello": "worker"})
        assert result.get(timeout=30) == {"hello": "worker"}
