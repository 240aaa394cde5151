"""Start-up settings, the health endpoint and request ids in logs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

PROJECT = Path(__file__).resolve().parents[2]


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    clean_env = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")
    }
    clean_env.update(env)
    clean_env["DJANGO_SETTINGS_MODULE"] = "taxpoynt.settings"
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=PROJECT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_django("print('started')", DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "started" not in result.stdout


PRODUCTION_KEY = Fernet.generate_key().decode()


def test_it_starts_with_secret_key_and_encryption_keys_when_debug_is_off():
    result = run_django(
        "print('started')",
        DEBUG="0",
        SECRET_KEY="a" * 50,
        FIELD_ENCRYPTION_KEYS=PRODUCTION_KEY,
    )

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_it_refuses_to_start_without_encryption_keys_when_debug_is_off():
    result = run_django("print('started')", DEBUG="0", SECRET_KEY="a" * 50)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS is not set" in result.stderr
    assert PRODUCTION_KEY not in result.stderr


def test_it_starts_with_a_development_key_when_debug_is_on():
    result = run_django("from django.conf import settings; print(settings.TIME_ZONE)")

    assert result.returncode == 0, result.stderr
    assert "Africa/Lagos" in result.stdout


@pytest.mark.django_db
def test_healthz_reports_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_when_the_database_is_unreachable(tmp_path):
    # Port 9 on loopback has no listener: the connection is refused at once.
    unreachable = "postgres://postgres@127.0.0.1:9/nothing"
    code = (
        "from django.test import Client; "
        "r = Client().get('/healthz', HTTP_HOST='localhost'); print(r.status_code, r.content.decode())"
    )
    result = run_django(code, DATABASE_URL=unreachable)

    assert result.returncode == 0, result.stderr
    assert "\n503 " in result.stdout
    assert '"database": "error"' in result.stdout


@pytest.mark.django_db
def test_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-42")

    assert response["X-Request-ID"] == "trace-42"


@pytest.mark.django_db
def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert response["X-Request-ID"] != "bad id\nwith newline"
    assert len(response["X-Request-ID"]) == 32


def test_log_lines_carry_the_request_id():
    code = (
        "import logging; from taxpoynt.request_ids import current_request_id; "
        "current_request_id.set('req-7'); logging.getLogger('x').warning('hello')"
    )
    result = run_django(code)

    assert "WARNING x [request_id=req-7] hello" in result.stdout
