"""Settings by concern: each app declares its settings once, in a table in its own `conf.py`.

A row names the setting (the same name as its environment variable and its Django setting), its default and how
the environment's text is read. Two readers share the table, so a default is written nowhere else:

- config/settings.py loads every app's table from the environment (`AppSettings.from_environment`), so each
  value is a Django setting as before (`settings.X`, the pytest `settings` fixture and `override_settings`).
- Code reads through its app's object (`orders_settings.ORDERS_CHECKOUT_RATE_LIMIT`), which looks the name up in
  `django.conf.settings` on every read (an override shows at once) and falls back to the table's value from the
  environment when a settings module did not load it.

A default may depend on an earlier value (the dev webhook secret only with DEBUG on): it is then a function of
the values read so far (plus DEBUG).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings


def as_bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def as_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def as_int_list(text: str) -> list[int]:
    return [int(item) for item in as_list(text)]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any  # a value, or a function of the values read so far (a dict with DEBUG) for a dependent default
    parse: Callable[[str], Any] = str
    doc: str = ""

    def read(self, values: dict) -> Any:
        """The environment's value; unset (or blank, for anything but text) means the default."""
        text = os.environ.get(self.name)
        if text is None or (self.parse is not str and text.strip() == ""):
            return self.default(values) if callable(self.default) else self.default
        return self.parse(text)


class AppSettings:
    """One app's table; attribute access reads the live Django setting, the table's value when there is none."""

    def __init__(self, *rows: Setting):
        self._rows = {row.name: row for row in rows}

    @property
    def rows(self) -> tuple[Setting, ...]:
        return tuple(self._rows.values())

    def from_environment(self, context: dict | None = None) -> dict[str, Any]:
        values = dict(context or {})
        for row in self._rows.values():
            values[row.name] = row.read(values)
        return {name: values[name] for name in self._rows}

    def __getattr__(self, name: str) -> Any:
        rows = self.__dict__.get("_rows", {})
        if name not in rows:
            raise AttributeError(name)
        try:
            return getattr(settings, name)
        except AttributeError:
            return self.from_environment({"DEBUG": getattr(settings, "DEBUG", False)})[name]


core_settings = AppSettings(
    Setting("BEAT_MAX_SILENCE_SECONDS", 120, int, "Health: beat is ok while its last tick is younger than this."),
    Setting("MAX_JSON_DEPTH", 32, int,
            "JSON bodies: NUL, lone surrogates, NaN/Infinity and nesting deeper than this are a 400 before any view."),
    Setting("ALLOW_PRIVATE_OUTBOUND", lambda values: bool(values.get("DEBUG")), as_bool,
            "Outbound calls (channels, carriers, workflow webhooks) to private, loopback or link-local addresses "
            "are refused unless this is on; on by default only in DEBUG, for the local simulator."),
    Setting("NUM_PROXIES", 0, int,
            "Client address for every rate limit: how many proxies in front of the hub append to X-Forwarded-For. "
            "0 (default): the header is ignored and the peer address is the client."),
    Setting("TRUSTED_PROXIES", [], as_list,
            "Client address for every rate limit: addresses or networks (CIDR) of proxies whose X-Forwarded-For "
            "is believed; the client is the right-most entry that is not one of them. Empty: none trusted."),
)
