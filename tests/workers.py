"""A real Celery worker in a subprocess, for the few tests that must cross the broker for real."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def running_worker(*, queues: str = "celery", timeout: float = 60.0):
    """Start `celery worker` against the configured broker and the current (test) database.

    Tests that let the worker touch the database must use `transactional_db`, so that what
    they write is committed and the worker sees it.
    """
    db = connection.settings_dict
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        if connection.vendor == "postgresql" else f"sqlite:///{db['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # Like the test process (tests/conftest.py): channel stand-ins listen on 127.0.0.1.
        "ALLOW_PRIVATE_OUTBOUND": "1" if settings.ALLOW_PRIVATE_OUTBOUND else "0",
    })
    if settings.CELERY_RESULT_BACKEND:
        env["CELERY_RESULT_BACKEND"] = settings.CELERY_RESULT_BACKEND
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--without-gossip", "--without-mingle", "--loglevel=WARNING", "-Q", queues,
         f"--hostname=test-{os.getpid()}@%h"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while not celery_app.control.ping(timeout=0.5):
            if process.poll() is not None:
                raise RuntimeError(f"worker exited: {process.stdout.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("worker did not answer a ping in time")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Wait until the broker no longer sees it, so the next test starts from "no worker".
        deadline = time.monotonic() + 10
        while celery_app.control.ping(timeout=0.3) and time.monotonic() < deadline:
            time.sleep(0.2)
