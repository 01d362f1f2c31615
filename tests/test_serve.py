"""`mash serve`: gunicorn with N workers serves the app, a HUP replaces the workers, TERM stops it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.subprocess, pytest.mark.e2e]  # starts other processes

MASH = Path(sys.executable).with_name("mash")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASH_")}
    return {**env, "MASH_CONFIG": "development", "MASH_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db", **extra}


def _get(url: str) -> int | None:
    import requests

    try:
        return requests.get(url, timeout=5).status_code
    except requests.ConnectionError:
        return None


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 30) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "mash serve exited"
        status = _get(url)
        if status is not None:
            return status
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def _workers(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


def test_serve_runs_two_workers_survives_hup_and_stops_on_term(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    pidfile = tmp_path / "mash.pid"
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - the server writes to it until the test ends
    process = subprocess.Popen(
        [str(MASH), "serve", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--pid", str(pidfile)],
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _wait_for(base + "/", process) == 200
        assert int(pidfile.read_text()) == process.pid  # `mash serve` is the gunicorn master
        assert _get(base + "/api/v1/openapi.json") == 200
        before = _workers(process.pid)
        assert len(before) == 2

        os.kill(process.pid, signal.SIGHUP)  # graceful: new workers first, then the old ones go
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = _workers(process.pid)
            if len(now) == 2 and not now & before:
                break
            time.sleep(0.2)
        assert len(now) == 2 and not now & before, (before, now)
        assert _wait_for(base + "/", process) == 200

        process.terminate()
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.seek(0)
        text = log.read()
        log.close()
    assert "Booting worker" in text and "Traceback" not in text, text


def test_serve_refuses_production_without_a_secret_key(tmp_path):
    env = _env(tmp_path, MASH_CONFIG="production")
    result = subprocess.run(
        [str(MASH), "serve", "--bind", f"127.0.0.1:{_free_port()}"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "MASH_SECRET_KEY" in result.stderr
