"""Browser tests: Playwright (sync API) driving Debian's chromium against pytest-django's live server.

No browser is ever downloaded: Playwright launches the system `chromium` (CHROMIUM_PATH overrides).
They run on either database: on SQLite the test database is in memory and pytest-django's live server
thread shares the test's connection. Without chromium the tests skip; with REQUIRE_SERVICES=1 or
REQUIRE_BROWSER=1 (both CI passes) they fail instead.
Each test saves full-page screenshots under var/screenshots/; `make screenshots` writes them to
docs/screenshots/ (BROWSER_SCREENSHOTS_DIR), the images docs/testing.md shows, so a test run leaves git clean.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect, sync_playwright

from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.conftest import REQUIRE_SERVICES

# CI's SQLite pass cannot set REQUIRE_SERVICES (the PostgreSQL tests would fail), yet needs the browser.
REQUIRE_BROWSER = REQUIRE_SERVICES or os.environ.get("REQUIRE_BROWSER", "") in {"1", "true", "yes"}

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR")
                   or Path(__file__).resolve().parents[2] / "var" / "screenshots")
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000  # a slow page on two busy cores, not a hang
expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


def _missing(reason: str):
    if REQUIRE_BROWSER:
        pytest.fail(f"REQUIRE_SERVICES=1 or REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium():
    """One headless chromium per test module.

    Playwright's sync API keeps an asyncio loop running in this thread while it is started, and Django
    refuses ORM calls from a thread with a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE is set. The
    variable is set only while Playwright runs (the tests' own ORM calls are plain synchronous code)."""
    path = chromium_path()
    if path is None:
        _missing("chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-US",
                                   timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    # Admin's navigation sidebar folded (admin keeps that choice in localStorage): the wide changelists fit.
    context.add_init_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def shoot():
    """shoot(page, "admin-login"): a full-page PNG under docs/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


class Queued:
    """Celery tasks the pages queued, kept here instead of going to the broker (no worker runs in
    these tests, and the live server commits for real, so on_commit hooks do fire)."""

    def __init__(self):
        self.calls: list[tuple[str, tuple]] = []

    def args_of(self, task_name: str) -> list[tuple]:
        return [args for name, args in self.calls if name == task_name]


@pytest.fixture(autouse=True)
def queued(monkeypatch):
    from celery.app.task import Task

    recorder = Queued()

    def apply_async(task, args=None, kwargs=None, **options):
        recorder.calls.append((task.name, tuple(args or ())))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return recorder


@pytest.fixture
def org(db):
    """Named like the demo's org, so the screenshots read like `make run`."""
    return OrgFactory(slug="demo", name="Demo Store")


def staff_member(org, *, username: str = "demo", role: str = "manager"):
    """A member of `org` (not superuser) whose admin rights come from the role alone, as in production: the
    membership gives the role's group and staff status (accounts.services.user_admin_access_sync). No
    permission is granted by hand, so these tests see what a real member sees."""
    user = UserFactory(username=username)
    MembershipFactory(user=user, org=org, role=role)
    user.refresh_from_db()
    return user


@pytest.fixture
def staff(org):
    return staff_member(org)


@pytest.fixture
def logged_in(page, live_server, staff):
    """The page with the staff member's admin session already in its cookies (the login form is
    exercised once, in test_admin_orders)."""
    client = Client()
    client.force_login(staff)
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": live_server.url}])
    return page
