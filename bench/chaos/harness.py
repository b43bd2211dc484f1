"""Process control for the fault scripts: private Redis and PostgreSQL servers, gunicorn, Celery worker and beat.

Every server a script kills or restarts is its own (a private port, a private data directory), so the shared
PostgreSQL on 5432 and Redis on 6379 are never disturbed. Each script sets its environment through `configure()`
before Django is imported, so the script, gunicorn and the Celery processes agree on database, broker, cache and
encryption key.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOG_DIR = Path(os.environ.get("CHAOS_LOG_DIR", "/tmp/chaos-logs"))
SHARED_PG = "postgres://postgres@127.0.0.1:5432"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def log(message: str) -> None:
    print(f"[{datetime.now(UTC).strftime('%H:%M:%S')}] {message}", flush=True)


def configure(*, database_url: str, redis_url: str, **extra: str) -> dict:
    """Environment for this process and every child: production-like settings (DEBUG off) on private services."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "chaos-secret-key-not-for-production-0123456789abcdef",
        "ALLOW_PRIVATE_OUTBOUND": "1",   # the fake channel servers listen on 127.0.0.1
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "PYTHONUNBUFFERED": "1",
    }
    key_file = ROOT / "var" / "dev-field-key"
    if not os.environ.get("FIELD_ENCRYPTION_KEYS"):
        if not key_file.exists():
            from cryptography.fernet import Fernet

            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(Fernet.generate_key().decode())
        env["FIELD_ENCRYPTION_KEYS"] = key_file.read_text().strip()
    env.update(extra)
    os.environ.update(env)
    return dict(os.environ)


def django_setup() -> None:
    import django

    django.setup()


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port} after {timeout:.0f}s")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Managed:
    """A child process in its own session, so SIGKILL reaches it and every child it forked."""

    name = "process"

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}   # overrides on top of os.environ, e.g. an application_name for its DB sessions

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, env: dict | None = None) -> Managed:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        out = open(LOG_DIR / f"{self.name}.log", "ab")
        out.write(f"\n--- start {datetime.now(UTC).isoformat()} ---\n".encode())
        out.flush()
        self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env or {**os.environ, **self.env}, stdout=out,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no cleanup, no acknowledgement, as when a machine dies."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


class RedisServer(Managed):
    """A private redis-server without persistence: a restart loses every queued message, as a crash would."""

    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port
        self.name = f"redis-{port}"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        return ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]

    def start(self, env: dict | None = None) -> RedisServer:
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} is taken: pick another with --redis-port")
        super().start(env)
        wait_port(self.port)
        return self

    def restart(self, down_seconds: float = 2.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class CeleryWorker(Managed):
    def __init__(self, concurrency: int = 2, tag: str = "chaos") -> None:
        super().__init__()
        self.concurrency = concurrency
        self.name = f"celery-worker-{tag}"
        self.tag = tag
        self.generation = 0
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith("postgres"):  # its sessions are recognisable in pg_stat_activity
            self.env["DATABASE_URL"] = url + ("&" if "?" in url else "?") + "application_name=chaos-worker"

    def command(self) -> list[str]:
        self.generation += 1
        return [str(BIN / "celery"), "-A", "config", "worker", "-c", str(self.concurrency), "--loglevel", "WARNING",
                "--without-gossip", "--without-mingle", "-n", f"{self.tag}-{os.getpid()}-{self.generation}@%h"]


class CeleryBeat(Managed):
    def __init__(self, tag: str = "chaos") -> None:
        super().__init__()
        self.name = f"celery-beat-{tag}"

    def command(self) -> list[str]:
        return [str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "WARNING",
                "--scheduler", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile="]


class Gunicorn(Managed):
    def __init__(self, port: int, workers: int = 2, app: str = "config.wsgi:application") -> None:
        super().__init__()
        self.port, self.workers, self.app = port, workers, app
        self.name = f"gunicorn-{port}"

    def command(self) -> list[str]:
        return [str(BIN / "gunicorn"), self.app, "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                "--chdir", str(ROOT), "--log-level", "warning", "--backlog", "2048"]

    def start(self, env: dict | None = None) -> Gunicorn:
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} is taken: pick another with --port")
        super().start(env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, http.client.HTTPException):
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health")
                conn.getresponse().read()
                return self
            if not self.alive():
                raise RuntimeError(f"gunicorn exited; see {LOG_DIR / (self.name + '.log')}")
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer within 60 s")


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb in /tmp, its own port and socket dir), safe to restart."""

    def __init__(self, port: int, *, max_connections: int = 100, datadir: str | None = None) -> None:
        self.port = port
        self.datadir = Path(datadir or f"/tmp/chaos-pg-{port}")
        self.logfile = LOG_DIR / f"postgres-{port}.log"
        self.max_connections = max_connections

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:  # initdb and pg_ctl refuse root
            command = ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(_quote(part) for part in command)]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def init(self) -> PrivatePostgres:
        if not port_free(self.port):
            raise RuntimeError(f"port {self.port} is taken: pick another with --pg-port")
        if self.datadir.exists():
            shutil.rmtree(self.datadir)
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(LOG_DIR, user="postgres")
            with contextlib.suppress(FileNotFoundError):
                shutil.chown(self.logfile, user="postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections={self.max_connections}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.datadir), "-o", options, "-l", str(self.logfile), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def restart(self, down_seconds: float = 0.0, mode: str = "fast") -> None:
        """Stop (every connection is cut), stay down a moment, start again."""
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def destroy(self) -> None:
        _close_django_connections()
        self.stop("immediate")
        shutil.rmtree(self.datadir, ignore_errors=True)


def _quote(part: str) -> str:
    import shlex

    return shlex.quote(part)


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server, then migrate it; returns its URL."""
    import psycopg

    drop_database(server_url, name)
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{server_url}/{name}"
    env = dict(os.environ, DATABASE_URL=url)
    result = subprocess.run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError("migrate failed:\n" + result.stdout[-2000:] + result.stderr[-2000:])
    return url


def drop_database(server_url: str, name: str) -> None:
    """Drop `name`, cutting its sessions (this process's own Django connections are closed first)."""
    import psycopg

    _close_django_connections()
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                     "pg_backend_pid()", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def _close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


# The order audit the storm and the poll restart share: a row per write to an aggregated order, so a version
# applied twice or out of order shows however the final rows look.
ORDER_AUDIT_SQL = """
CREATE TABLE chaos_order_audit (id bigserial PRIMARY KEY, channel_order_id text, channel_updated_at timestamptz,
                                op text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION chaos_order_audit() RETURNS trigger AS $$
BEGIN
  INSERT INTO chaos_order_audit (channel_order_id, channel_updated_at, op)
  VALUES (NEW.channel_order_id, NEW.channel_updated_at, TG_OP);
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER chaos_order_audit AFTER INSERT OR UPDATE ON channels_sync_aggregatedorder FOR EACH ROW
  EXECUTE FUNCTION chaos_order_audit();
"""


def machine() -> str:
    cores = os.cpu_count()
    try:
        mem_kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    try:
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "?"
    return f"{cores} cores, {mem}, load average {load} at start"


class Checks:
    """PASS/FAIL lines and figures, printed as a summary at the end."""

    def __init__(self) -> None:
        self.results: list[tuple[bool, str]] = []
        self.figures: list[str] = []

    def check(self, ok: bool, text: str) -> bool:
        self.results.append((bool(ok), text))
        return bool(ok)

    def figure(self, text: str) -> None:
        self.figures.append(text)

    @property
    def passed(self) -> bool:
        return all(ok for ok, _ in self.results)

    def report(self, title: str) -> int:
        print(f"\n==== {title} ====")
        for text in self.figures:
            print(f"  {text}")
        print()
        for ok, text in self.results:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}")
        verdict = "PASS" if self.passed else "FAIL"
        print(f"\n{verdict}: {sum(ok for ok, _ in self.results)}/{len(self.results)} checks passed")
        return 0 if self.passed else 1


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
