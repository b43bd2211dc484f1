"""Calls started at the same instant, each from its own thread on its own database connection: the races the
PostgreSQL tests (and bench/chaos/races.py, at ten times the count) run against locks and constraints."""

import threading

from django.db import connection


def at_once(calls, *, timeout: float = 60) -> list:
    """Run every call at once; each one's outcome, in order: what it returned, or the exception it raised.

    Each thread connects before the barrier, so the race is on the locks, not on connecting."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [None] * len(calls)

    def run(index, call):
        try:
            try:
                connection.ensure_connection()
            finally:
                barrier.wait(timeout)
            outcomes[index] = call()
        except Exception as exc:  # an outcome like any other: the caller's assertions report it
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return outcomes


def race(calls, *, timeout: float = 60) -> list:
    """`at_once` for service calls: each outcome is "ok", the HTTP status of the ApiError it raised, or the repr of
    any other exception."""
    from core.api.exceptions import ApiError

    return ["ok" if not isinstance(outcome, Exception) else
            outcome.status_code if isinstance(outcome, ApiError) else repr(outcome)
            for outcome in at_once(calls, timeout=timeout)]


def results_and_errors(outcomes: list) -> tuple[list, list]:
    """What the calls returned, and the repr of what they raised."""
    return ([outcome for outcome in outcomes if not isinstance(outcome, Exception)],
            [repr(outcome) for outcome in outcomes if isinstance(outcome, Exception)])
