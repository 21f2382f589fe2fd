"""A missing package extra: one line on stderr naming the ``pip install``, exit code 3,
from every command and from both entry points (the console script and
``python -m thingspace_callbacks``).

Each case runs in a fresh interpreter whose ``sitecustomize`` makes the chosen packages
unimportable, as if the extra were not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from thingspace_callbacks.cli import EXIT_MISSING_EXTRA

BLOCKER = """
import os, sys

_BLOCKED = set(os.environ["BLOCK_PACKAGES"].split(","))


class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in _BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Blocker())
"""

# What the console script generated from [project.scripts] runs.
SCRIPT = "import sys; from thingspace_callbacks.cli import main; sys.exit(main())"

ENTRY_POINTS = {
    "script": [sys.executable, "-c", SCRIPT],
    "module": [sys.executable, "-m", "thingspace_callbacks"],
}


@pytest.fixture(scope="module")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("blocker")
    (directory / "sitecustomize.py").write_text(BLOCKER)
    return directory


def without(
    blocker: Path, packages: str, entry: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("THINGSPACE")}
    env.update(PYTHONPATH=str(blocker), BLOCK_PACKAGES=packages)
    return subprocess.run(
        [*ENTRY_POINTS[entry], *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=30,  # a command that did start would serve until then
    )


def test_the_console_script_is_the_one_tested() -> None:
    (script,) = entry_points(group="console_scripts", name="thingspace-callbacks")
    assert script.value == "thingspace_callbacks.cli:main"


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("package", ["click", "rich"])
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--base-url", "http://127.0.0.1:9/api", "location", "list", "0000123456-00001"],
        ["listen", "--port", "0"],
    ],
)
def test_without_the_cli_extra(blocker: Path, entry: str, package: str, args: list[str]) -> None:
    result = without(blocker, package, entry, *args)

    assert result.returncode == EXIT_MISSING_EXTRA
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: thingspace-callbacks needs the [cli] extra (the {package!r} package is "
        'missing): pip install "thingspace-callbacks[cli]"\n'
    )


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize(
    ("package", "args", "command", "extra"),
    [
        ("starlette", ["demo"], "demo", "sandbox"),
        ("starlette", ["sandbox", "--port", "0"], "sandbox", "sandbox"),
        ("uvicorn", ["sandbox", "--port", "0"], "sandbox", "sandbox"),
        (
            "starlette",
            ["--sandbox", "location", "list", "0000123456-00001"],
            "--sandbox",
            "sandbox",
        ),
        ("uvicorn", ["listen", "--port", "0"], "listen", "receiver"),
        ("uvicorn", ["listen", "--help"], "listen", "receiver"),
    ],
)
def test_a_command_without_its_extra(
    blocker: Path, entry: str, package: str, args: list[str], command: str, extra: str
) -> None:
    result = without(blocker, package, entry, *args)

    assert result.returncode == EXIT_MISSING_EXTRA, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: thingspace-callbacks {command} needs the [{extra}] extra (the {package!r} "
        f'package is missing): pip install "thingspace-callbacks[{extra}]"\n'
    )


def test_the_help_still_lists_every_command_without_the_sandbox(blocker: Path) -> None:
    result = without(blocker, "starlette,uvicorn", "script", "--help")

    assert result.returncode == 0
    assert "sandbox" in result.stdout
    assert "demo" in result.stdout


@pytest.mark.parametrize("package", ["prometheus_client", "opentelemetry"])
@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["listen", "--port", "0", "--metrics-port", "0"], "listen"),
        (["bulk", "list", "location", "accounts.txt", "--metrics-port", "0"], "bulk"),
    ],
)
def test_metrics_without_the_prometheus_extra(
    blocker: Path, package: str, args: list[str], command: str
) -> None:
    result = without(blocker, package, "script", *args)

    assert result.returncode == EXIT_MISSING_EXTRA, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: thingspace-callbacks {command} --metrics-port needs the [prometheus] extra "
        f"(the {package!r} package is missing): "
        'pip install "thingspace-callbacks[prometheus]"\n'
    )
