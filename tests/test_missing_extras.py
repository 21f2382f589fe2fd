"""Without its extra, ``thingspace_callbacks.sandbox``, ``thingspace_callbacks.redis`` and
the pytest fixtures fail with an ImportError that names the ``pip install`` to run, as
the CLI and ``speedups=True`` do; other missing modules are not disguised as one.

The cases that block a package run in a fresh interpreter whose ``sitecustomize`` makes
it unimportable (``tests/cli/test_extras.py``'s blocker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from thingspace_callbacks._extras import requires_extra

from ._user_project import UNRELATED_PLUGINS
from .cli.test_extras import BLOCKER

CHECK = """
try:
    {statement}
except ImportError as exc:
    print(type(exc).__name__, exc.name, sep="|")
    print(exc)
else:
    print("imported")
"""


@pytest.fixture(scope="module")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("blocker")
    (directory / "sitecustomize.py").write_text(BLOCKER)
    return directory


def _without(
    blocker: Path, packages: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THINGSPACE", "PYTEST_"))}
    env.update(PYTHONPATH=str(blocker), BLOCK_PACKAGES=packages)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


@pytest.mark.parametrize(
    ("statement", "package", "module", "extra"),
    [
        ("from thingspace_callbacks.sandbox import Sandbox", "starlette", "sandbox", "sandbox"),
        ("from thingspace_callbacks.sandbox import Sandbox", "uvicorn", "sandbox", "sandbox"),
        ("import thingspace_callbacks.redis", "redis", "redis", "redis"),
        ("from thingspace_callbacks.redis import RedisTokenStore", "arq", "redis", "redis"),
    ],
)
def test_importing_without_the_extra_names_it(
    blocker: Path, statement: str, package: str, module: str, extra: str
) -> None:
    result = _without(blocker, package, "-c", CHECK.format(statement=statement))

    kind, message = result.stdout.splitlines()
    assert kind == f"ModuleNotFoundError|{package}"
    assert message == (
        f"thingspace_callbacks.{module} needs the [{extra}] extra (the {package!r} package "
        f'is missing): pip install "thingspace-callbacks[{extra}]"'
    )


def test_the_core_sdk_imports_without_any_extra(blocker: Path) -> None:
    everything = "starlette,uvicorn,redis,arq,cryptography,click,rich,aiohttp"
    result = _without(
        blocker, everything, "-c", CHECK.format(statement="import thingspace_callbacks")
    )

    assert result.stdout.strip() == "imported", result.stderr


def test_the_pytest_fixtures_name_the_extra(blocker: Path, tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_user.py").write_text(
        "def test_uses_the_sandbox(thingspace_sandbox):\n    pass\n"
    )

    result = _without(
        blocker,
        "starlette",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *UNRELATED_PLUGINS,
        cwd=tmp_path,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "thingspace_callbacks.sandbox needs the [sandbox] extra (the 'starlette' package is "
        'missing): pip install "thingspace-callbacks[sandbox]"'
    ) in result.stdout


def test_another_missing_module_is_not_blamed_on_the_extra() -> None:
    with (
        pytest.raises(ModuleNotFoundError) as raised,
        requires_extra("thingspace_callbacks.sandbox", "sandbox", ("starlette",)),
    ):
        raise ModuleNotFoundError(
            "No module named 'thingspace_callbacks.sandbox._gone'",
            name="thingspace_callbacks.sandbox._gone",
        )

    assert str(raised.value) == "No module named 'thingspace_callbacks.sandbox._gone'"
