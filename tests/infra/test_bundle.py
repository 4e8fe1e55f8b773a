"""The real bundle for the function's architecture: right wheels, complete handler package, no boto3.

Builds with uv from PyPI the first time (the package registry); later runs use uv's wheel cache.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from aws_cdk import aws_lambda as lambda_

from infra.bundling import (
    HANDLER_PACKAGE,
    RUNTIME_PROVIDED,
    BundleTarget,
    asset_hash,
    build_bundle,
    bytecode_compiler,
    locked_requirements,
)
from infra.constructs.function import ARCHITECTURE, RUNTIME
from token_vending_machine.names import HANDLER

TARGET = BundleTarget.of(runtime=RUNTIME, architecture=ARCHITECTURE)
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("bundle") / "asset"
    build_bundle(output, target=TARGET, requirements=locked_requirements())
    return output


def wheel_tags(bundle: Path) -> dict[str, list[str]]:
    return {
        wheel.parent.name: [
            line.split(":", 1)[1].strip() for line in wheel.read_text().splitlines() if line.startswith("Tag:")
        ]
        for wheel in bundle.glob("*.dist-info/WHEEL")
    }


def test_target_is_the_functions_runtime_and_architecture() -> None:
    assert (TARGET.python_version, TARGET.architecture) == ("3.14", "arm64")


def test_every_locked_requirement_is_installed(bundle: Path) -> None:
    installed = {path.name.removesuffix(".dist-info").lower().replace("_", "-") for path in bundle.glob("*.dist-info")}
    locked = {
        line.split(" ")[0].replace("_", "-").lower()
        for line in locked_requirements().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    assert {name.replace("==", "-") for name in locked} == installed


def test_platform_wheels_match_the_runtime_and_architecture(bundle: Path) -> None:
    platform_specific = {}
    for dist, tags in wheel_tags(bundle).items():
        assert tags, dist
        for tag in tags:
            python, abi, platform = tag.split("-")
            if platform == "any":
                continue
            platform_specific[dist] = tag
            assert platform.startswith("manylinux") and platform.endswith(f"_{TARGET.wheel_platform_suffix}"), tag
            assert abi == "abi3" or python == f"cp{TARGET.python_version.replace('.', '')}", tag
    assert {"grpcio", "pydantic_core"} <= {dist.split("-")[0] for dist in platform_specific}


def test_native_libraries_are_built_for_the_architecture(bundle: Path) -> None:
    libraries = list(bundle.rglob("*.so"))
    assert libraries
    for library in libraries:
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == ELF_MACHINE[TARGET.architecture], library


def test_no_runtime_provided_package_is_bundled(bundle: Path) -> None:
    top_level = {path.name.split("-")[0].lower() for path in bundle.iterdir()}
    assert not top_level & RUNTIME_PROVIDED
    assert not (bundle / "bin").exists()


def test_handler_package_is_complete_and_clean(bundle: Path) -> None:
    package = bundle / HANDLER_PACKAGE.name
    sources = {p.relative_to(HANDLER_PACKAGE) for p in HANDLER_PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}
    bundled = {p.relative_to(package) for p in package.rglob("*") if p.is_file()}
    assert sources <= bundled
    assert not [p for p in bundled if "__pycache__" in p.parts or p.suffix == ".pyc"]
    for source in sources:
        assert (package / source).read_bytes() == (HANDLER_PACKAGE / source).read_bytes(), source

    module, _, function = HANDLER.rpartition(".")
    handler_file = bundle / (module.replace(".", "/") + ".py")
    tree = ast.parse(handler_file.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    defined |= {
        t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)
    }
    assert function in defined


def test_every_import_of_the_handler_package_resolves_inside_the_bundle(bundle: Path) -> None:
    available = {path.name.removesuffix(".py") for path in bundle.iterdir()} | RUNTIME_PROVIDED
    available |= set(sys.stdlib_module_names) | {"__future__"}
    missing = set()
    for source in (bundle / HANDLER_PACKAGE.name).rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            missing |= {name.split(".")[0] for name in names} - available
    assert not missing


def test_asset_hash_follows_architecture_python_requirements_and_source(tmp_path: Path) -> None:
    package = tmp_path / "token_vending_machine"
    package.mkdir()
    (package / "handler.py").write_text("def lambda_handler(event, context): ...\n")
    requirements = "momento==1.29.1\n"
    arm = BundleTarget.of(runtime=lambda_.Runtime.PYTHON_3_14, architecture=lambda_.Architecture.ARM_64)
    x86 = BundleTarget.of(runtime=lambda_.Runtime.PYTHON_3_14, architecture=lambda_.Architecture.X86_64)
    older = BundleTarget.of(runtime=lambda_.Runtime.PYTHON_3_13, architecture=lambda_.Architecture.ARM_64)

    baseline = asset_hash(target=arm, requirements=requirements, package_dir=package)
    assert asset_hash(target=arm, requirements=requirements, package_dir=package) == baseline
    assert asset_hash(target=x86, requirements=requirements, package_dir=package) != baseline
    assert asset_hash(target=older, requirements=requirements, package_dir=package) != baseline
    assert asset_hash(target=arm, requirements="momento==1.29.2\n", package_dir=package) != baseline
    assert asset_hash(target=arm, requirements=requirements, package_dir=package, compiler=sys.executable) != baseline
    (package / "handler.py").write_text("def lambda_handler(event, context): return 1\n")
    assert asset_hash(target=arm, requirements=requirements, package_dir=package) != baseline


def test_with_a_matching_interpreter_the_bundle_ships_timestamp_free_bytecode(tmp_path: Path) -> None:
    """Lambda's code directory is read-only: without .pyc files every cold start compiles from source."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    compiler = bytecode_compiler(here)
    assert compiler is not None  # the interpreter running this test is one
    target = BundleTarget(python_version=here, architecture=TARGET.architecture)
    output = tmp_path / "asset"

    build_bundle(output, target=target, requirements=locked_requirements(), compiler=compiler)

    handler_pyc = next((output / "token_vending_machine" / "__pycache__").glob("handler.*.pyc"))
    flags = int.from_bytes(handler_pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: valid whatever timestamps the zip gives the sources
    assert any((output / "momento").rglob("*.pyc"))


def test_without_a_compiler_no_bytecode_is_shipped(bundle: Path) -> None:
    assert not any(bundle.rglob("*.pyc"))  # nor stale ones copied from the source tree


def test_locked_requirements_are_the_project_dependencies_only() -> None:
    requirements = locked_requirements()
    assert "momento==" in requirements and "pydantic==" in requirements and "aws-lambda-powertools==" in requirements
    assert "--hash=sha256:" in requirements
    for excluded in ("boto3", "botocore", "aws-cdk-lib", "pytest", "httpx"):
        assert f"\n{excluded}==" not in f"\n{requirements}"
