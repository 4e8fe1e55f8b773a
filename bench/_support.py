"""What the benchmarks share: a local Momento service, a stand-in for the Parameters and Secrets
extension, the environment a Lambda-like child process gets, and percentile arithmetic."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from momento_local import MomentoLocal
from token_vending_machine.names import Env

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / ".bench" / "lambda-site"
COMPILED_SITE = ROOT / ".bench" / "lambda-site-bytecode"
SECRET_NAME = "MomentoApiKeySecret"
SESSION_TOKEN = "bench-session-token"


def lambda_site() -> Path:
    """The function's locked dependencies plus the runtime's boto3, as Lambda lays them out (no dev tools).

    Child processes run with ``python -S`` and only this on their path, so nothing from the dev
    environment (cryptography under pyjwt, say) makes the figures look worse or better than Lambda's.
    """
    marker = SITE / ".requirements.txt"
    requirements = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--no-default-groups",
            "--group",
            "aws-runtime",
            "--no-emit-project",
            "--no-hashes",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if not marker.exists() or marker.read_text() != requirements:
        SITE.mkdir(parents=True, exist_ok=True)
        (SITE / "requirements.txt").write_text(requirements)
        subprocess.run(
            [
                "uv",
                "pip",
                "install",
                "--quiet",
                "--target",
                str(SITE),
                "--python",
                sys.executable,
                "-r",
                str(SITE / "requirements.txt"),
            ],
            check=True,
        )
        marker.write_text(requirements)
        shutil.rmtree(COMPILED_SITE, ignore_errors=True)
    return SITE


def compiled_lambda_site() -> Path:
    """The same site plus the function's package, precompiled as the bundle ships it when it can.

    The dependencies are compiled once; the function's package is copied and compiled afresh on every
    call, so the figures are always those of the code in the working tree.
    """
    site = lambda_site()
    if not COMPILED_SITE.exists():
        shutil.copytree(site, COMPILED_SITE)
        _compile(COMPILED_SITE)
    package = COMPILED_SITE / "token_vending_machine"
    shutil.rmtree(package, ignore_errors=True)
    shutil.copytree(ROOT / "lambdas" / "token_vending_machine", package, ignore=shutil.ignore_patterns("__pycache__"))
    _compile(package)
    return COMPILED_SITE


def _compile(path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(path)],
        check=True,
    )


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor() or platform.machine(),
    )
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, {platform.system()} {platform.machine()}"
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> str:
    p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
    return f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, mean {statistics.fmean(values):.3f} ms"


@dataclass
class Backend:
    momento: MomentoLocal
    api_key: str
    extension_port: int

    def lambda_env(self, *, bytecode: bool = False) -> dict[str, str]:
        """The environment of a deployed function with the extension attached, pointed at local services.

        ``bytecode``: the bundle with precompiled .pyc files, else the sources only.
        """
        path = [compiled_lambda_site(), ROOT] if bytecode else [lambda_site(), ROOT / "lambdas", ROOT]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env.update(
            {
                Env.SECRET_NAME: SECRET_NAME,
                Env.MOMENTO_LOCAL_ENDPOINT: self.momento.endpoint,
                Env.SECRETS_EXTENSION_PORT: str(self.extension_port),
                "AWS_SESSION_TOKEN": SESSION_TOKEN,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "PYTHONPATH": os.pathsep.join(str(part) for part in path),
            }
        )
        return env


@contextmanager
def local_backend() -> Iterator[Backend]:
    """The local Momento service and an extension stand-in that serves the key, both on 127.0.0.1."""
    with MomentoLocal(host="127.0.0.1", port=0) as momento:
        api_key = momento.create_api_key()
        body = json.dumps({"Name": SECRET_NAME, "SecretString": json.dumps({"momentoSecret": api_key})}).encode()

        class Extension(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Extension)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Backend(momento, api_key, server.server_address[1])
        finally:
            server.shutdown()
            server.server_close()
