"""The README's run command itself: started as a subprocess on free ports, probed over HTTP, stopped by a signal,
leaving no process behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.helpers import CACHE, TOPIC

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60  # `make run` may first have to check the virtual environment
STOP_SECONDS = 5
URL_LINE = re.compile(r"^\s+URL\s+(http://127\.0\.0\.1:\d+/)")


class RunningCommand:
    """A command in its own process group (as a terminal runs it), with its output collected."""

    def __init__(self, command: list[str]) -> None:
        environment = {name: value for name, value in os.environ.items() if name not in ("MOMENTO_API_KEY",)}
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._url_found = threading.Event()
        self.url: str | None = None
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            match = URL_LINE.match(line)
            if match and self.url is None:
                self.url = match.group(1)
                self._url_found.set()
        self._url_found.set()

    def wait_for_url(self) -> str:
        self._url_found.wait(STARTUP_SECONDS)
        assert self.url is not None, "no URL printed:\n" + self.output
        return self.url

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def signal_group(self, signal_number: int) -> None:
        """What Ctrl-C does: signal every process in the foreground group."""
        os.killpg(self.process.pid, signal_number)

    def group_members(self) -> list[int]:
        members = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            process_group = int(stat.rsplit(")", 1)[1].split()[2])
            if process_group == self.process.pid:
                members.append(int(entry.name))
        return members

    def kill(self) -> None:
        if self.group_members():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(STOP_SECONDS)


@pytest.fixture
def run() -> Iterator[type[RunningCommand]]:
    started: list[RunningCommand] = []

    class Tracked(RunningCommand):
        def __init__(self, command: list[str]) -> None:
            super().__init__(command)
            started.append(self)

    yield Tracked
    for command in started:
        command.kill()


def probe(url: str) -> None:
    response = httpx.post(url, json={"cacheName": CACHE, "topicName": TOPIC}, timeout=10)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"auth_token", "expires_at"}


def assert_stops_cleanly(command: RunningCommand, accepted_exit_codes: set[int]) -> None:
    try:
        command.process.wait(STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("still running after the signal:\n" + command.output)
    assert command.process.returncode in accepted_exit_codes, command.output
    assert "tvm-local: stopped" in command.output
    assert "Traceback" not in command.output
    assert command.group_members() == []


@pytest.mark.slow
def test_make_run_serves_and_stops_on_ctrl_c(run: type[RunningCommand]) -> None:
    command = run(["make", "--no-print-directory", "run", "ARGS=--port 0"])
    url = command.wait_for_url()

    probe(url)
    assert f"curl -s -X POST {url}" in command.output
    assert f"tvm subscribe --url {url} --cache {CACHE} --topic {TOPIC}" in command.output
    command.signal_group(signal.SIGINT)

    # make itself always dies of the SIGINT it receives; what matters is that the stack stopped cleanly.
    assert_stops_cleanly(command, {0, -signal.SIGINT, 130, 2})


@pytest.mark.slow
def test_tvm_local_exits_0_on_ctrl_c(run: type[RunningCommand]) -> None:
    command = run(["uv", "run", "--frozen", "tvm-local", "--port", "0", "--event", "rest"])
    url = command.wait_for_url()

    probe(url)
    assert "API Gateway REST events" in command.output
    command.signal_group(signal.SIGINT)

    assert_stops_cleanly(command, {0})


@pytest.mark.slow
def test_tvm_local_exits_0_on_sigterm(run: type[RunningCommand]) -> None:
    command = run([sys.executable, "-m", "local_stack", "--port", "0"])
    url = command.wait_for_url()

    probe(url)
    command.process.send_signal(signal.SIGTERM)

    assert_stops_cleanly(command, {0})


def test_a_v2_key_without_its_endpoint_is_refused_with_a_clear_message() -> None:
    v2_shaped_key = "eyJhbGciOiJIUzI1NiJ9.eyJ0IjoiZyJ9.c2lnbmF0dXJl"  # claims {"t": "g"}
    environment = {**os.environ, "MOMENTO_API_KEY": v2_shaped_key}
    environment.pop("MOMENTO_ENDPOINT", None)

    finished = subprocess.run(
        [sys.executable, "-m", "local_stack", "--port", "0"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert finished.returncode == 2
    assert "MOMENTO_ENDPOINT" in finished.stderr
    assert v2_shaped_key not in finished.stdout + finished.stderr
