"""The function bundle's size, unzipped and zipped, built exactly as `cdk synth` builds it.

uv run python bench/bundle_size.py
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from infra.bundling import BundleTarget, build_bundle, locked_requirements
from infra.constructs.function import ARCHITECTURE, RUNTIME

MIB = 1024 * 1024


def main() -> None:
    target = BundleTarget.of(runtime=RUNTIME, architecture=ARCHITECTURE)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(tmp) / "bundle"
        build_bundle(bundle, target=target, requirements=locked_requirements())
        files = [path for path in bundle.rglob("*") if path.is_file()]
        unzipped = sum(path.stat().st_size for path in files)
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in files:
                zipped.write(path, path.relative_to(bundle))
        by_package: dict[str, int] = {}
        for path in files:
            top = path.relative_to(bundle).parts[0]
            by_package[top] = by_package.get(top, 0) + path.stat().st_size
    print(f"function bundle for {target.architecture}, Python {target.python_version} ({len(files)} files)")
    print(f"  unzipped {unzipped / MIB:.1f} MiB ({unzipped:,} bytes); zipped {len(archive.getvalue()) / MIB:.1f} MiB")
    for package, size in sorted(by_package.items(), key=lambda item: -item[1])[:6]:
        print(f"    {package:<32} {size / MIB:6.1f} MiB")


if __name__ == "__main__":
    main()
