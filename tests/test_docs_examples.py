"""Every ```python block of ``README.md`` and ``docs/**/*.md`` runs, as written; and the
API reference names every public object by a path that resolves.

Sybil finds the blocks. Each is one of three kinds (``docs/contributing.md`` tells
authors the same):

- **A complete program** (the default): run as ``python example.py`` would, as
  ``__main__``, in a fresh namespace. It runs with ``THINGSPACE_BASE_URL`` pointing at a
  :class:`~thingspace_callbacks.sandbox.Sandbox` served on 127.0.0.1 that accepts the
  credentials the examples use (:data:`EXAMPLE_CREDENTIALS`, the README's Quickstart),
  which are also set as the ``THINGSPACE_*`` variables, so a program written for the
  real ThingSpace runs unchanged. A program that mentions Redis also gets a real
  ``redis-server`` at ``REDIS_URL`` when one is installed (nothing is skipped: without
  one it runs all the same, and fails if it needs the server).
- **A test file**: a block defining top-level ``test_*`` functions. It is written to a
  scratch project with no pytest configuration and run with ``python -m pytest`` (with
  and without pytest-asyncio); it must pass.
- **A snippet**: a block whose fence is preceded by the line ``<!-- snippet -->``. It
  may use top-level ``await`` (as ``python -m asyncio`` does) and runs in the page's
  namespace: ``sandbox`` (a ``Sandbox`` with the examples' credentials), ``client``
  (``sandbox.client()``), ``account`` (:data:`ACCOUNT`), plus every name the page's
  earlier blocks defined (never replacing those three). A page's snippets share one
  event loop.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anyio.from_thread
import pytest
from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser

from thingspace_callbacks.sandbox import Sandbox

from ._user_project import UNRELATED_PLUGINS

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

SNIPPET_MARKER = "<!-- snippet -->"
ACCOUNT = "0252012345-00001"
"""``account`` in a snippet's namespace: the account the README's examples use."""

EXAMPLE_CREDENTIALS = {
    "client_id": "my-app-key",
    "client_secret": "my-app-secret",
    "username": "my-uws-user",
    "password": "my-password",
}
"""The credentials the examples pass (the README's Quickstart); the sandbox accepts them."""

_ENVIRONMENT = {
    "THINGSPACE_CLIENT_ID": EXAMPLE_CREDENTIALS["client_id"],
    "THINGSPACE_CLIENT_SECRET": EXAMPLE_CREDENTIALS["client_secret"],
    "THINGSPACE_USERNAME": EXAMPLE_CREDENTIALS["username"],
    "THINGSPACE_PASSWORD": EXAMPLE_CREDENTIALS["password"],
}
_PREPARED = ("sandbox", "client", "account")

Kind = Literal["program", "snippet", "test file"]


# -- finding the blocks ------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One ```python block of a page."""

    path: Path
    line: int
    """The line of the opening fence (1-based)."""
    source: str
    kind: Kind

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def compile(self, flags: int = 0) -> Any:
        # Padding makes tracebacks and syntax errors point at the page's own lines.
        return compile("\n" * self.line + self.source, str(self.path), "exec", flags=flags)


def _kind(source: str, preceding: str) -> Kind:
    if preceding.rstrip().rsplit("\n", 1)[-1].strip() == SNIPPET_MARKER:
        return "snippet"
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "program"  # and the run reports the error, at its line
    if any(
        isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")
        for node in tree.body
    ):
        return "test file"
    return "program"


def _blocks(path: Path) -> list[Block]:
    document = Sybil(parsers=[CodeBlockParser(language="python")]).parse(path)
    return [
        Block(
            path=path,
            line=example.line,
            source=str(example.parsed),
            kind=_kind(str(example.parsed), document.text[: example.start]),
        )
        for example in document
    ]


PAGES = {path: _blocks(path) for path in DOCUMENTS}
BLOCKS = [block for blocks in PAGES.values() for block in blocks]


# -- what the blocks run against -----------------------------------------------------------


def _example_sandbox() -> Sandbox:
    return Sandbox(
        client_id=EXAMPLE_CREDENTIALS["client_id"],
        client_secret=EXAMPLE_CREDENTIALS["client_secret"],
        username=EXAMPLE_CREDENTIALS["username"],
        password=EXAMPLE_CREDENTIALS["password"],
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _redis_server(directory: Path) -> Iterator[str | None]:
    """A real ``redis-server`` (its URL), or ``None`` when none is installed. Uses the
    Redis tests' server (``tests/redis/conftest.py``) where it is there."""
    executable = shutil.which("redis-server")
    if executable is None:
        yield None
        return
    directory.mkdir(parents=True, exist_ok=True)
    try:
        shared: Any = importlib.import_module("tests.redis.conftest").RedisServer
    except (ImportError, AttributeError):
        shared = None
    if shared is not None:
        server = shared(executable, directory)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
        return
    port = _free_port()
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _uses_redis(source: str) -> bool:
    return re.search(r"\bredis\b", source, flags=re.IGNORECASE) is not None


def _run_program(block: Block, directory: Path) -> dict[str, Any]:
    """Run a complete program against a served sandbox; return its globals."""
    saved = {
        name: os.environ.get(name) for name in (*_ENVIRONMENT, "THINGSPACE_BASE_URL", "REDIS_URL")
    }
    namespace: dict[str, Any] = {"__name__": "__main__", "__file__": str(block.path)}
    try:
        with ExitStack() as stack:
            server = stack.enter_context(_example_sandbox().serve())
            os.environ.update(_ENVIRONMENT, THINGSPACE_BASE_URL=server.base_url)
            if _uses_redis(block.source):
                url = stack.enter_context(_redis_server(directory))
                if url is not None:
                    os.environ["REDIS_URL"] = url
            exec(block.compile(), namespace)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return namespace


def _run_test_file(source: str, directory: Path, *plugins: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` over ``source`` as the one test file of a scratch project
    whose pytest configuration says nothing (no asyncio mode, no markers)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    (directory / "test_example.py").write_text(source)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "THINGSPACE_"))}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNRELATED_PLUGINS]
    for plugin in plugins:
        args += ["-p", plugin]
    return subprocess.run(
        [*args, "test_example.py"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Page:
    """Runs one page's blocks in order, each once, keeping what snippets see."""

    blocks: list[Block]
    directory: Path
    stack: ExitStack = field(default_factory=ExitStack)
    namespace: dict[str, Any] = field(default_factory=dict)
    outcomes: dict[int, BaseException | None] = field(default_factory=dict)
    portal: anyio.from_thread.BlockingPortal | None = None

    def run(self, index: int) -> None:
        """Run block ``index`` (and, first, every earlier block not run yet); raise
        what it raised."""
        for earlier in range(len(self.outcomes), index + 1):
            try:
                self._run(self.blocks[earlier], earlier)
            except Exception as exc:
                self.outcomes[earlier] = exc
            else:
                self.outcomes[earlier] = None
        outcome = self.outcomes[index]
        if outcome is not None:
            raise outcome

    def _run(self, block: Block, index: int) -> None:
        if block.kind == "program":
            names = _run_program(block, self.directory / f"block-{index}")
            self.namespace.update(
                (k, v) for k, v in names.items() if not k.startswith("__") and k not in _PREPARED
            )
        elif block.kind == "snippet":
            self._run_snippet(block)
        else:
            result = _run_test_file(block.source, self.directory / f"block-{index}", "no:asyncio")
            assert result.returncode == 0, result.stdout + result.stderr

    def _run_snippet(self, block: Block) -> None:
        if not self.namespace.keys() >= set(_PREPARED):
            sandbox = _example_sandbox()
            self.namespace.update(sandbox=sandbox, client=sandbox.client(), account=ACCOUNT)
            self.namespace.setdefault("__name__", "__main__")
        code = block.compile(ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, self.namespace)  # a coroutine if the snippet awaits
        if result is None:
            return
        if self.portal is None:
            self.portal = self.stack.enter_context(anyio.from_thread.start_blocking_portal())

        async def wait() -> None:
            await result

        self.portal.call(wait)

    def close(self) -> None:
        client = self.namespace.get("client")
        if self.portal is not None and client is not None:
            self.portal.call(client.aclose)
        self.stack.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path], Page]]:
    opened: dict[Path, Page] = {}

    def page(path: Path) -> Page:
        if path not in opened:
            opened[path] = Page(PAGES[path], tmp_path_factory.mktemp(path.stem))
        return opened[path]

    yield page
    for each in opened.values():
        each.close()


# -- the examples --------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_example_runs(block: Block, pages: Callable[[Path], Page]) -> None:
    page = pages(block.path)
    page.run(page.blocks.index(block))


def test_every_page_is_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS}
    assert {"README.md", "docs/index.md", "docs/guides/sandbox.md"} <= names
    assert len(BLOCKS) >= len(DOCUMENTS) // 2


def test_the_convention_sorts_blocks_into_three_kinds() -> None:
    assert _kind("import anyio\nanyio.run(main)\n", "text\n\n") == "program"
    assert _kind("await client.location.list(account)\n", f"text\n{SNIPPET_MARKER}\n") == "snippet"
    assert _kind("import pytest\n\ndef test_it():\n    pass\n", "") == "test file"
    contributing = {block.kind for block in PAGES[ROOT / "docs" / "contributing.md"]}
    assert "snippet" in contributing


# -- the pytest plugin in an ordinary project ---------------------------------------------------


def _plugin_example() -> str:
    """The test file the sandbox guide shows under "In your own tests"."""
    path = ROOT / "docs" / "guides" / "sandbox.md"
    section = path.read_text().split("## In your own tests", 1)[1]
    (block,) = [b for b in PAGES[path] if b.kind == "test file" and b.source in section]
    return block.source


@pytest.mark.integration
@pytest.mark.parametrize(
    "plugins",
    [
        pytest.param(("no:asyncio",), id="no-async-plugin"),
        pytest.param((), id="pytest-asyncio-strict"),
    ],
)
def test_the_plugin_example_passes_in_a_project_without_async_configuration(
    tmp_path: Path, plugins: tuple[str, ...]
) -> None:
    result = _run_test_file(_plugin_example(), tmp_path, *plugins)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "not natively supported" not in result.stdout


@pytest.mark.integration
def test_the_plugin_leaves_other_async_tests_to_pytest(tmp_path: Path) -> None:
    source = "async def test_not_ours():\n    pass\n"

    result = _run_test_file(source, tmp_path, "no:asyncio")

    assert result.returncode == 1
    assert "not natively supported" in result.stdout


# -- the API reference ---------------------------------------------------------------------------

REFERENCE = ROOT / "docs" / "reference"
PUBLIC_MODULES = (
    "thingspace_callbacks",
    "thingspace_callbacks.models",
    "thingspace_callbacks.resources",
    "thingspace_callbacks.callbacks",
    "thingspace_callbacks.receiver",
    "thingspace_callbacks.sandbox",
    "thingspace_callbacks.pytest_plugin",
    "thingspace_callbacks.redis",
    "thingspace_callbacks.state",
)
_ENTRY = re.compile(r"^::: (?P<path>[\w.]+)\n(?P<options>(?:[ \t]+.*\n?)*)", flags=re.MULTILINE)


def _entries() -> list[tuple[str, str, Path]]:
    """Every ``::: path`` of the docs: (path, its options block, page)."""
    return [
        (match["path"], match["options"], page)
        for page in sorted((ROOT / "docs").rglob("*.md"))
        for match in _ENTRY.finditer(page.read_text())
    ]


@pytest.fixture(scope="module")
def griffe_package() -> Any:
    """The package as mkdocstrings sees it: griffe's static reading, which follows
    ``__init__``'s ``TYPE_CHECKING`` imports to the private modules."""
    import griffe  # griffelib, in the test extra

    return griffe.load("thingspace_callbacks", search_paths=[str(ROOT)], resolve_aliases=False)


def test_every_reference_entry_resolves_under_its_public_path(griffe_package: Any) -> None:
    import griffe

    entries = _entries()
    assert entries
    unresolved = []
    for path, _, page in entries:
        assert "._" not in path, f"{page.name}: {path} is a private path; use the public one"
        try:
            relative = path.removeprefix("thingspace_callbacks").lstrip(".")
            obj = griffe_package[relative] if relative else griffe_package
            target = obj.final_target if isinstance(obj, griffe.Alias) else obj
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError) as exc:
            unresolved.append(f"{page.name}: {path} ({exc!r})")
            continue
        if target.kind.value in ("class", "function", "module"):
            assert target.docstring is not None, f"{page.name}: {path} has no docstring"
    assert unresolved == []


def test_every_public_name_is_in_the_reference() -> None:
    entries = _entries()
    rendered = {path for path, _, _ in entries}
    whole_modules = {path for path, options, _ in entries if "members:" not in options}
    listed = {
        f"{path}.{name}"
        for path, options, _ in entries
        for name in re.findall(r"^\s+- (\w+)\s*$", options, flags=re.MULTILINE)
    }
    mentioned = " ".join(page.read_text() for page in REFERENCE.glob("*.md"))
    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            path = f"{module_name}.{name}"
            if name == "__version__" or path in rendered or path in listed:
                continue
            if module_name in whole_modules and module_name != "thingspace_callbacks":
                continue
            if f"`{name}`" in mentioned:  # an alias, in a table of seed names
                continue
            missing.append(path)
    assert missing == []


def test_reference_pages_are_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md"))
    assert [p for p in pages if p not in nav] == []
