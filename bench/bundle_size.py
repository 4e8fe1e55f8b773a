"""The function bundle's size, unzipped and zipped, built exactly as `cdk synth` builds it.

uv run python bench/bundle_size.py
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from infra.bundling import BundleTarget, build_bundle, locked_requirements
from infra.constructs.function import ARCHITECTURE, RUNTIME

MIB = 1024 * 1024


def sizes(bundle: Path) -> tuple[int, int, dict[str, int]]:
    files = [path for path in bundle.rglob("*") if path.is_file()]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in files:
            zipped.write(path, path.relative_to(bundle))
    by_package: dict[str, int] = {}
    for path in files:
        top = path.relative_to(bundle).parts[0]
        by_package[top] = by_package.get(top, 0) + path.stat().st_size
    return sum(by_package.values()), len(archive.getvalue()), by_package


def main() -> None:
    target = BundleTarget.of(runtime=RUNTIME, architecture=ARCHITECTURE)
    print(f"function bundle for {target.architecture}, Python {target.python_version}")
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        build_bundle(bundle, target=target, requirements=locked_requirements())
        unzipped, zipped, by_package = sizes(bundle)
        print(f"  sources only:  unzipped {unzipped / MIB:.1f} MiB ({unzipped:,} bytes); zipped {zipped / MIB:.1f} MiB")
        for package, size in sorted(by_package.items(), key=lambda item: -item[1])[:6]:
            print(f"    {package:<32} {size / MIB:6.1f} MiB")
        # The .pyc files a CPython of the runtime's version would add, estimated with this interpreter.
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(bundle)], check=True)
        unzipped, zipped, _ = sizes(bundle)
        here = f"{sys.version_info.major}.{sys.version_info.minor}"
        print(f"  with bytecode: unzipped {unzipped / MIB:.1f} MiB; zipped {zipped / MIB:.1f} MiB (compiled by {here})")


if __name__ == "__main__":
    main()
