"""pytest fixtures for testing code that uses thingspace-callbacks (loaded through the
``pytest11`` entry point, so installing the package makes them available).

Fixtures (they need the ``[sandbox]`` extra; nothing is imported until one is used):

- ``thingspace_sandbox``: a fresh :class:`~thingspace_callbacks.sandbox.Sandbox` per test.
- ``thingspace_client``: an :class:`~thingspace_callbacks.AsyncThingSpaceClient` bound to
  it in process (no socket), authenticated with the sandbox's credentials.
- ``thingspace_sandbox_server``: the same sandbox served on 127.0.0.1 (a free port) for
  code that needs a URL; ``.base_url`` is the API root, ``.client()`` a client for it
  (``.sync_client()`` a :class:`~thingspace_callbacks.ThingSpaceClient`).
- ``thingspace_sync_client``: a :class:`~thingspace_callbacks.ThingSpaceClient` bound to
  ``thingspace_sandbox`` in process, for testing synchronous code (Django, Flask,
  Celery); closed after the test.

Every test, whether it uses these fixtures or not, starts and ends with no credentials
shared by the process's clients (:func:`thingspace_callbacks.testing.reset_shared_credentials`):
a client of one test never finds the tokens another test's fake server (respx, a
sandbox) issued under the same credentials and API root.

Configure the sandbox per test with the ``thingspace_sandbox`` marker, whose keyword
arguments go to ``Sandbox(...)``::

    @pytest.mark.thingspace_sandbox(session_idle_timeout=1, require_auth=False)
    async def test_something(thingspace_client): ...

The fixtures are synchronous, so they work with any async test runner (pytest-asyncio,
anyio, trio). A project with none needs nothing more: an ``async def`` test that uses
one of these fixtures (or the marker) and that no other plugin runs is run by this
plugin on asyncio (``anyio.run``), so the example above passes in a project with no
async configuration at all.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceClient
    from thingspace_callbacks.sandbox import Sandbox, SandboxServer

__all__ = [
    "thingspace_client",
    "thingspace_sandbox",
    "thingspace_sandbox_server",
    "thingspace_sync_client",
]

_MARKER = "thingspace_sandbox"
_FIXTURES = frozenset(
    {
        "thingspace_sandbox",
        "thingspace_client",
        "thingspace_sandbox_server",
        "thingspace_sync_client",
    }
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): keyword arguments for the thingspace_sandbox fixture's "
        "Sandbox(...)",
    )


@pytest.hookimpl
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run an ``async def`` test that uses this plugin's fixtures or marker when no
    async plugin claimed it (pytest itself would fail it: "async def functions are
    not natively supported").

    Plugins that run async tests either take the call first (anyio's hook is
    ``tryfirst``) or hand pytest a synchronous wrapper (pytest-asyncio, pytest-trio),
    so this only sees the tests nothing else would run; other async tests are left to
    pytest's own error.
    """
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    uses_plugin = _FIXTURES.intersection(pyfuncitem.fixturenames)
    if not uses_plugin and pyfuncitem.get_closest_marker(_MARKER) is None:
        return None
    import anyio

    anyio.run(functools.partial(function, **_arguments(function, pyfuncitem.funcargs)))
    return True


def _arguments(function: Callable[..., object], funcargs: dict[str, object]) -> dict[str, object]:
    """The fixture values ``function`` asks for: its parameters without a default, as
    pytest resolves them (``funcargs`` also holds autouse fixtures it does not take)."""
    return {
        name: funcargs[name]
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
        and name in funcargs
    }


@pytest.fixture(autouse=True)
def _thingspace_fresh_credentials() -> Iterator[None]:
    """Forget the credentials shared by the process's clients before and after each
    test (see the module)."""
    from thingspace_callbacks.testing import reset_shared_credentials

    reset_shared_credentials()
    yield
    reset_shared_credentials()


@pytest.fixture
def thingspace_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A fresh in-memory fake ThingSpace; options from the ``thingspace_sandbox`` marker."""
    from thingspace_callbacks.sandbox import Sandbox

    marker = request.node.get_closest_marker(_MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return Sandbox(**options)


@pytest.fixture
def thingspace_client(thingspace_sandbox: Sandbox) -> AsyncThingSpaceClient:
    """A client bound to ``thingspace_sandbox`` in process. Nothing needs closing, but
    ``async with thingspace_client:`` logs its session out like a real one."""
    return thingspace_sandbox.client()


@pytest.fixture
def thingspace_sync_client(thingspace_sandbox: Sandbox) -> Iterator[ThingSpaceClient]:
    """A :class:`~thingspace_callbacks.ThingSpaceClient` bound to ``thingspace_sandbox``
    in process, closed (its session logged out) after the test."""
    with thingspace_sandbox.sync_client() as client:
        yield client


@pytest.fixture
def thingspace_sandbox_server(thingspace_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """``thingspace_sandbox`` on a real socket on 127.0.0.1, stopped after the test.

    Clients of the same credentials share them in a process (see ``token_store``), and
    a later test's server may get this one's port: the process's shared credentials
    are forgotten when it stops, so no client of a later test meets this sandbox's
    tokens."""
    from thingspace_callbacks.testing import reset_shared_credentials

    try:
        with thingspace_sandbox.serve() as server:
            yield server
    finally:
        reset_shared_credentials()
