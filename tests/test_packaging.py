"""What ``pip install thingspace-callbacks`` gets: the wheel holds the package, every
file it needs at run time (``py.typed`` and every other non-Python file git tracks under
``thingspace_callbacks/``) and nothing else; the sdist holds the sources, tests and docs.

Both are built from this checkout by ``python -m build`` (without build isolation, so
no download: hatchling comes with the ``test`` extra).
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "thingspace_callbacks"


def _build(kind: str, outdir: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    suffix = ".whl" if kind == "wheel" else ".tar.gz"
    (built,) = outdir.glob(f"*{suffix}")
    return built


def _package_files() -> list[str]:
    """The files under ``thingspace_callbacks/`` that git tracks (every file, outside a
    git checkout such as an unpacked sdist), relative to the project root."""
    git = shutil.which("git")
    if git is not None and (ROOT / ".git").exists():
        listed = subprocess.run(
            [git, "ls-files", "-z", "--", PACKAGE],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        # Deleted from the working tree but not yet from the index: not a file to ship.
        return sorted(name for name in listed.split("\0") if name and (ROOT / name).is_file())
    return sorted(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(_build("wheel", tmp_path_factory.mktemp("wheel"))) as built:
        yield built


@pytest.fixture(scope="module")
def wheel_names(wheel: zipfile.ZipFile) -> set[str]:
    return set(wheel.namelist())


def test_the_wheel_holds_py_typed(wheel_names: set[str]) -> None:
    assert f"{PACKAGE}/py.typed" in wheel_names


def test_the_wheel_holds_every_non_python_file_git_tracks(wheel_names: set[str]) -> None:
    data = [name for name in _package_files() if not name.endswith(".py")]

    assert f"{PACKAGE}/py.typed" in data
    assert [name for name in data if name not in wheel_names] == []


def test_the_wheel_holds_every_module(wheel_names: set[str]) -> None:
    modules = [name for name in _package_files() if name.endswith(".py")]

    assert f"{PACKAGE}/__init__.py" in modules
    assert [name for name in modules if name not in wheel_names] == []


def test_the_wheel_holds_nothing_else(wheel: zipfile.ZipFile, wheel_names: set[str]) -> None:
    dist_info = next(name.split("/")[0] for name in wheel_names if ".dist-info/" in name)
    outside = [
        name for name in wheel_names if not name.startswith((f"{PACKAGE}/", f"{dist_info}/"))
    ]
    stray = [
        name
        for name in wheel_names
        if "__pycache__" in name or name.endswith((".pyc", ".pyo", ".orig", ".rej", "~"))
    ]

    assert outside == []  # no tests/, benchmarks/, docs/ or scripts/ in site-packages
    assert stray == []


def test_the_wheel_metadata_carries_the_license_and_entry_points(
    wheel: zipfile.ZipFile, wheel_names: set[str]
) -> None:
    dist_info = next(name.split("/")[0] for name in wheel_names if ".dist-info/" in name)
    metadata = email.parser.Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()

    assert metadata["Name"] == "thingspace-callbacks"
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert f"{dist_info}/licenses/LICENSE" in wheel_names
    assert (
        "Copyright (c) 2026 thingspace-callbacks developers"
        in wheel.read(f"{dist_info}/licenses/LICENSE").decode()
    )
    assert "thingspace-callbacks = thingspace_callbacks.cli:main" in entry_points
    assert "thingspace_callbacks = thingspace_callbacks.pytest_plugin" in entry_points


def test_the_sdist_holds_sources_tests_and_docs(tmp_path: Path) -> None:
    with tarfile.open(_build("sdist", tmp_path)) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}

    expected = {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "mkdocs.yml",
        "noxfile.py",
        "docs/index.md",
        "scripts/screenshots.py",
        f"{PACKAGE}/py.typed",
        "tests/test_packaging.py",
    }
    assert expected - names == set()
    assert [name for name in names if "__pycache__" in name] == []
