"""What importing the SDK loads: only what is used.

``import thingspace_callbacks`` imports its names on first use, building a client does
not load the models, the sub-clients, the web stack or aiohttp, and every exported
name still resolves and names the package as its module. Each check runs in a fresh
interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import thingspace_callbacks

# Optional stacks: the sandbox and the receiver's server (starlette, uvicorn), the CLI
# (click, rich) and the fast transport (aiohttp).
OPTIONAL = (
    "starlette",
    "uvicorn",
    "click",
    "rich",
    "aiohttp",
    "httpx_aiohttp",
    "thingspace_callbacks.sandbox",
    "thingspace_callbacks.receiver",
    "thingspace_callbacks.cli",
)
# Loaded at the first call of a sub-client, or at the first retry.
ON_FIRST_USE = (
    "thingspace_callbacks.models",
    "thingspace_callbacks.resources",
    "thingspace_callbacks.callbacks",
    "thingspace_callbacks._fanout",
    "pydantic.main",
    "tenacity",
)


def _fresh(code: str) -> Any:
    """Run ``code`` in a new interpreter; it leaves its answer in ``result``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("THINGSPACE")}
    out = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}\nprint(json.dumps(result))"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.splitlines()[-1])


def _loaded(modules: list[str], names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` (or a submodule of one) is among ``modules``."""
    return {name for name in names for m in modules if m == name or m.startswith(name + ".")}


def test_importing_the_package_loads_nothing_optional() -> None:
    modules = _fresh("import thingspace_callbacks\nresult = sorted(sys.modules)")
    assert _loaded(modules, OPTIONAL + ON_FIRST_USE) == set()
    # Not even httpx or pydantic: names are imported when first used.
    assert _loaded(modules, ("httpx", "pydantic", "anyio")) == set()


def test_building_a_client_loads_neither_optional_stacks_nor_models() -> None:
    modules = _fresh(
        "from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth\n"
        "AsyncThingSpaceClient(auth=ThingSpaceAuth(access_token='token', m2m_token='session'))\n"
        "result = sorted(sys.modules)"
    )
    # httpx imports its own CLI (click, rich) when they are installed: not ours to avoid.
    by_httpx = _fresh("import httpx\nresult = sorted(sys.modules)")
    assert _loaded(modules, OPTIONAL) <= _loaded(by_httpx, ("click", "rich"))
    assert _loaded(modules, ON_FIRST_USE) == set()


def test_every_exported_name_resolves_in_a_fresh_interpreter() -> None:
    result = _fresh(
        "import thingspace_callbacks as ts\n"
        "listed = set(ts.__all__) <= set(dir(ts))\n"
        "values = {name: getattr(ts, name) for name in ts.__all__}\n"
        "modules = {n: v.__module__ for n, v in values.items() if isinstance(v, type)}\n"
        "try:\n"
        "    ts.NoSuchName\n"
        "    missing = None\n"
        "except AttributeError as exc:\n"
        "    missing = str(exc)\n"
        "result = {'listed': listed, 'modules': modules, 'missing': missing}"
    )
    assert result["listed"], "dir() lists every exported name before it is loaded"
    assert set(result["modules"]) >= {"AsyncThingSpaceClient", "APIStatusError", "Token"}
    assert set(result["modules"].values()) == {"thingspace_callbacks"}
    assert result["missing"] == "module 'thingspace_callbacks' has no attribute 'NoSuchName'"
    assert set(thingspace_callbacks.__all__) <= set(dir(thingspace_callbacks))


def test_errors_name_the_package_when_raised_before_any_name_was_used() -> None:
    # thingspace_callbacks.fanout imports the errors module itself, not through the
    # package's names; a traceback must still say thingspace_callbacks.X.
    result = _fresh(
        "from thingspace_callbacks import FanOut\n"
        "try:\n"
        "    FanOut([], lambda account: None, concurrency=0)\n"
        "except Exception as exc:\n"
        "    result = f'{type(exc).__module__}.{type(exc).__qualname__}'"
    )
    assert result == "thingspace_callbacks.InvalidArgumentError"
