"""Build the sdist and the wheel, check them, and use the wheel as a user would.

1. ``python -m build`` builds the sdist, then the wheel *from the sdist* (so a file
   missing from the sdist fails too), into a temporary directory; ``twine check
   --strict`` checks both.
2. A fresh virtual environment gets the wheel (never the checkout) with the
   ``cli,sandbox`` extras, and pytest for the pytest plugin.
3. From a directory outside the checkout, it runs ``thingspace-callbacks demo`` and
   imports every public module, resolves every name of each ``__all__``, and checks
   that ``py.typed`` and every other non-Python file git tracks under the package are
   installed, from the environment and not from the checkout.

Run by ``.ci/run`` and ``nox -s package``::

    python scripts/check_package.py [--no-isolation]

``--no-isolation`` builds with the hatchling already installed instead of downloading
it into a build environment (``.ci/run`` has it from the ``test`` extra).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "thingspace_callbacks"
PUBLIC_MODULES = [
    "thingspace_callbacks",
    "thingspace_callbacks.models",
    "thingspace_callbacks.resources",
    "thingspace_callbacks.callbacks",
    "thingspace_callbacks.sandbox",
    "thingspace_callbacks.receiver",
    "thingspace_callbacks.cli",
    "thingspace_callbacks.pytest_plugin",
]

# Runs in the fresh environment: argv[1] = the modules, argv[2] = the data files.
_CHECK = """
import importlib, importlib.resources, json, pathlib, sys
modules, data = json.loads(sys.argv[1]), json.loads(sys.argv[2])
names = 0
for name in modules:
    module = importlib.import_module(name)
    for attribute in module.__all__:
        getattr(module, attribute)
        names += 1
root = importlib.resources.files("thingspace_callbacks")
where = pathlib.Path(str(root)).resolve()
assert where.is_relative_to(pathlib.Path(sys.prefix).resolve()), f"imported from {where}"
missing = [path for path in data if not root.joinpath(path).is_file()]
assert root.joinpath("py.typed").is_file(), "py.typed is not installed"
assert not missing, f"not installed: {missing}"
print(f"{len(modules)} modules, {names} public names, {len(data)} data files, from {where}")
"""


def _run(args: Sequence[str | Path], *, label: str | None = None, **kwargs: Any) -> None:
    print("$", label or " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, **kwargs)  # noqa: S603


def _data_files() -> list[str]:
    """Non-Python files git tracks under the package, relative to it."""
    listed = subprocess.run(  # noqa: S603
        ["git", "ls-files", "-z", "--", PACKAGE],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(
        name.removeprefix(f"{PACKAGE}/")
        for name in listed.split("\0")
        if name and not name.endswith(".py") and (ROOT / name).is_file()
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    isolation = [] if "--no-isolation" not in args else ["--no-isolation"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="thingspace-package-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        _run([sys.executable, "-m", "build", *isolation, "--outdir", dist, ROOT])
        built = sorted(dist.iterdir())
        (wheel,) = [path for path in built if path.suffix == ".whl"]
        _run([sys.executable, "-m", "twine", "check", "--strict", *built])

        venv = work / "venv"
        _run([sys.executable, "-m", "venv", venv])
        bindir = venv / ("Scripts" if os.name == "nt" else "bin")
        python = bindir / "python"
        _run(
            [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{wheel}[cli,sandbox]", "pytest"]
        )  # fmt: skip

        elsewhere = work / "elsewhere"  # not the checkout: nothing to import by accident
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "THINGSPACE_"))}
        command = shutil.which("thingspace-callbacks", path=str(bindir))
        assert command is not None, "the wheel installed no thingspace-callbacks command"
        _run([command, "demo"], cwd=elsewhere, env=env, stdout=subprocess.DEVNULL)
        _run(
            [python, "-I", "-c", _CHECK, json.dumps(PUBLIC_MODULES), json.dumps(_data_files())],
            label=f"{python} -I -c <import every public module and name; check data files>",
            cwd=elsewhere,
            env=env,
        )
    print(f"package checks passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
