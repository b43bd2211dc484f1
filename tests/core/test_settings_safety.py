"""Settings refuse an unsafe production start: the check runs in a fresh interpreter, as a deploy would."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def start_django(tmp_path, **env):
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEYS"}}
    clean.update({"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    return subprocess.run([sys.executable, "-c", "import django; django.setup(); print('started')"],
                          cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_debug_off_without_secret_key_refuses_to_start(tmp_path):
    result = start_django(tmp_path, DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_debug_off_without_field_encryption_keys_refuses_to_start(tmp_path):
    result = start_django(tmp_path, DEBUG="0", SECRET_KEY="x" * 60)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_debug_off_with_secret_key_starts(tmp_path):
    result = start_django(tmp_path, DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="hub.example.com",
                          FIELD_ENCRYPTION_KEYS=Fernet.generate_key().decode())
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_dev_start_generates_and_keeps_a_key(tmp_path):
    assert start_django(tmp_path).returncode == 0
    key_file = tmp_path / "dev-secret-key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert start_django(tmp_path).returncode == 0
    assert key_file.read_text() == first


def test_deployment_checklist_is_clean_under_production_settings(tmp_path):
    """`manage.py check --deploy` with DEBUG off and the production variables set: no warning at all."""
    import secrets

    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEYS"}}
    clean.update({"VAR_DIR": str(tmp_path), "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(60),
                  "ALLOWED_HOSTS": "hub.example.com", "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
