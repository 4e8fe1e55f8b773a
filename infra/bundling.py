"""Docker-free packaging of the Lambda: locked Linux wheels for the function's architecture + its package.

``uv pip install`` is pip's interface run by the tool the project already requires: it takes the same
``--python-platform``/``--python-version``/``--only-binary`` options as ``pip --platform``, verifies the
locked hashes and keeps downloaded wheels in uv's cache, so a second bundle costs no network.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parents[1]
HANDLER_PACKAGE = REPO_ROOT / "lambdas" / "token_vending_machine"
# The Lambda runtime ships these; bundling them would add ~33 MB and shadow the runtime's patched copies.
# snapshot_restore_py (SnapStart's runtime hooks) is in every Python 3.12+ runtime.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "snapshot_restore_py"})
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
_WHEEL_ARCH = {"arm64": "aarch64", "x86_64": "x86_64"}
# Python 3.12+ Lambda runtimes run on Amazon Linux 2023 (glibc 2.34): any manylinux wheel up to 2.34 loads.
_MANYLINUX = "manylinux_2_34"
INSTALL_PYTHON_ENV = "INSTALL_BUNDLE_PYTHON"


class BundlingError(RuntimeError):
    """The bundle could not be built; the message says which command failed and why."""


@dataclass(frozen=True, kw_only=True)
class BundleTarget:
    """What the wheels must run on: the function's runtime and architecture."""

    python_version: str
    architecture: str

    @classmethod
    def of(cls, *, runtime: lambda_.Runtime, architecture: lambda_.Architecture) -> BundleTarget:
        match = re.fullmatch(r"python(3\.\d+)", runtime.name)
        if match is None:
            raise ValueError(f"not a Python runtime: {runtime.name}")
        if architecture.name not in _WHEEL_ARCH:
            raise ValueError(f"unsupported architecture: {architecture.name}")
        return cls(python_version=match.group(1), architecture=architecture.name)

    @property
    def uv_platform(self) -> str:
        return f"{_WHEEL_ARCH[self.architecture]}-{_MANYLINUX}"

    @property
    def wheel_platform_suffix(self) -> str:
        """The ending every platform-specific wheel tag must have, e.g. ``aarch64``."""
        return _WHEEL_ARCH[self.architecture]


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        raise BundlingError("uv is not on PATH; install it (https://docs.astral.sh/uv/) and run `uv sync`")
    return uv


def _run(args: list[str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BundlingError(f"`{' '.join(args)}` failed ({result.returncode}):\n{result.stderr.strip()}")
    return result.stdout


def locked_requirements(project_dir: Path = REPO_ROOT) -> str:
    """The function's runtime dependencies, pinned with hashes from uv.lock: [project] dependencies only."""
    requirements = _run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-default-groups",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--format",
            "requirements-txt",
            "--project",
            str(project_dir),
        ]
    )
    # Distribution names, normalised to import names ("snapshot-restore-py" -> "snapshot_restore_py").
    names = {
        re.split(r"[=<>~!;\s\[]", line, maxsplit=1)[0].lower().replace("-", "_") for line in requirements.splitlines()
    }
    leaked = names & RUNTIME_PROVIDED
    if leaked:
        raise BundlingError(f"the bundle's requirements include runtime-provided packages: {sorted(leaked)}")
    return requirements


def source_fingerprint(package_dir: Path = HANDLER_PACKAGE) -> str:
    """A content hash of the handler package (paths and bytes), ignoring caches."""
    digest = hashlib.sha256()
    for path in sorted(package_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}:
            digest.update(path.relative_to(package_dir).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def bytecode_compiler(python_version: str) -> str | None:
    """A local CPython of the runtime's exact version, if uv knows one (it never downloads one here).

    Lambda's code directory is read-only, so a bundle without .pyc files makes every cold start
    compile grpc, pydantic, Powertools and momento from source: about 2.5x slower to the first token
    (see bench/cold_start.py). With ``INSTALL_BUNDLE_PYTHON=1`` (as `make deploy` sets it), uv
    installs the interpreter first.
    """
    if os.environ.get(INSTALL_PYTHON_ENV) == "1":
        subprocess.run([_uv(), "python", "install", python_version], capture_output=True, check=False)
    result = subprocess.run(
        [_uv(), "python", "find", "--no-python-downloads", "--no-project", python_version],
        capture_output=True,
        text=True,
        check=False,
    )
    found = result.stdout.strip()
    if result.returncode == 0 and found:
        return found
    print(
        f"note: no CPython {python_version} here, so the Lambda bundle ships without bytecode (slower cold "
        f"starts); `uv python install {python_version}` or `make deploy` fixes that",
        file=sys.stderr,
    )
    return None


def asset_hash(
    *,
    target: BundleTarget,
    requirements: str,
    package_dir: Path = HANDLER_PACKAGE,
    compiler: str | None = None,
) -> str:
    """Changes whenever the bundle would: architecture, Python version, locked requirements, source, bytecode."""
    digest = hashlib.sha256()
    bytecode = "bytecode" if compiler else "source-only"
    for part in (target.architecture, target.python_version, requirements, source_fingerprint(package_dir), bytecode):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def build_bundle(
    output_dir: Path,
    *,
    target: BundleTarget,
    requirements: str,
    package_dir: Path = HANDLER_PACKAGE,
    compiler: str | None = None,
) -> None:
    """Install the locked wheels for ``target`` into ``output_dir`` and copy the handler package beside them.

    With ``compiler`` (a CPython of the runtime's version), every module is compiled to .pyc too.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    requirements_file = output_dir.parent / f".{output_dir.name}.requirements.txt"
    requirements_file.write_text(requirements)
    try:
        _run(
            [
                _uv(),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(output_dir),
                "--python-platform",
                target.uv_platform,
                "--python-version",
                target.python_version,
                "--only-binary",
                ":all:",
                "--no-deps",
                "--require-hashes",
                "--no-config",
                "--requirements",
                str(requirements_file),
            ]
        )
    finally:
        requirements_file.unlink(missing_ok=True)
    shutil.rmtree(output_dir / "bin", ignore_errors=True)
    shutil.copytree(package_dir, output_dir / package_dir.name, ignore=_IGNORED, dirs_exist_ok=True)
    if compiler is not None:
        # unchecked-hash: valid whatever the files' timestamps become in the deployment zip.
        _run([compiler, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(output_dir)])


@jsii.implements(ILocalBundling)
class LocalWheelBundler:
    """Builds the bundle on the host, so ``cdk synth`` and ``cdk deploy`` never need Docker."""

    def __init__(self, *, target: BundleTarget, requirements: str, package_dir: Path, compiler: str | None) -> None:
        self._target = target
        self._requirements = requirements
        self._package_dir = package_dir
        self._compiler = compiler

    def try_bundle(self, output_dir: str, *_options: object, **_keyword_options: object) -> bool:
        # Failing loudly beats returning False, which would make CDK fall back to Docker.
        build_bundle(
            Path(output_dir),
            target=self._target,
            requirements=self._requirements,
            package_dir=self._package_dir,
            compiler=self._compiler,
        )
        return True


def python_function_code(
    *, runtime: lambda_.Runtime, architecture: lambda_.Architecture, package_dir: Path = HANDLER_PACKAGE
) -> lambda_.Code:
    """The function's code asset: bundled locally, hashed on everything that shapes the bundle."""
    target = BundleTarget.of(runtime=runtime, architecture=architecture)
    requirements = locked_requirements()
    compiler = bytecode_compiler(target.python_version)
    return lambda_.Code.from_asset(
        str(package_dir),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(target=target, requirements=requirements, package_dir=package_dir, compiler=compiler),
        bundling=BundlingOptions(
            # Required by the type, never pulled: the local bundler always succeeds or raises.
            image=runtime.bundling_image,
            local=LocalWheelBundler(
                target=target, requirements=requirements, package_dir=package_dir, compiler=compiler
            ),
        ),
    )
