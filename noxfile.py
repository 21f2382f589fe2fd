"""Developer sessions: ``nox -s tests lint typecheck`` (the tests on Python 3.10 to
3.13), ``nox -s bench``, ``nox -s demo``, ``nox -s mutants``, ``nox -s docs``,
``nox -s package``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
"""The one interpreter of the sessions other than ``tests``."""
SUPPORTED = ["3.10", "3.11", "3.12", "3.13"]
"""Every Python the classifiers list: ``nox -s tests`` runs the suite on each."""


def _find_pyenv_interpreters() -> None:
    # pyenv's shims answer `python3.10` only for the versions made active (`pyenv
    # local`); put each installed version's own bin directory first on PATH instead.
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [
        str(candidates[-1].parent)
        for minor in SUPPORTED
        if (candidates := sorted(versions.glob(f"{minor}.*/bin/python{minor}")))
    ]
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_find_pyenv_interpreters()


@nox.session(python=SUPPORTED)
def tests(session: nox.Session) -> None:
    """The test suite (unit and loopback integration tests), once per supported Python;
    ``nox -s tests-3.12`` runs one."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff: lint rules and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks in benchmarks/ (fan-out and per-call overhead in CPU time and in
    instructions, memory, import), each printing its figures and ratios. ``nox -s bench
    -- --quick`` is a smoke run; the instruction counts need valgrind."""
    session.install("-e", ".[dev]")
    scripts = ("bench_fanout", "bench_overhead", "bench_instructions", "bench_memory")
    for script in (*scripts, "bench_import", "bench_plan", "bench_sync"):
        session.run("python", "-m", f"benchmarks.{script}", *session.posargs)
    session.run("python", "-m", "benchmarks.bench_instructions", "--fan-out", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The README's first command: the CLI demo against the embedded sandbox."""
    session.install(".[cli,sandbox]")
    session.run("thingspace-callbacks", "demo")


@nox.session(python=PYTHON)
def mutants(session: nox.Session) -> None:
    """Mutation testing (mutmut, configured in pyproject's ``[tool.mutmut]``) of the
    callback verifiers and the client's status-to-error mapping; not run in CI. Every
    surviving mutant of ``receiver/_verify.py`` is a change to signature, credential or
    source checking that no test notices: look at each with ``mutmut show NAME``."""
    session.install("-e", ".[dev]", "mutmut>=3.3")
    # A fresh copy each time: mutmut reuses a stale mutants/ tree and its results.
    shutil.rmtree("mutants", ignore_errors=True)
    session.run(
        "mutmut",
        "run",
        "thingspace_callbacks.receiver._verify.*",
        "thingspace_callbacks._errors.x_status_error_class__mutmut_*",
        "thingspace_callbacks._errors.x_make_status_error__mutmut_*",
        *session.posargs,
    )
    session.run("mutmut", "results")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """The documentation site: ``mkdocs build --strict`` into ``site/`` (git-ignored),
    regenerating the CLI's pictures first. ``nox -s docs -- serve`` serves it instead
    (http://127.0.0.1:8000), rebuilding on every change."""
    session.install("-e", ".[docs]")
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about MkDocs 2.0
    if session.posargs[:1] == ["serve"]:
        session.run("mkdocs", "serve", "--strict", *session.posargs[1:])
    else:
        session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs)


@nox.session(python=PYTHON)
def package(session: nox.Session) -> None:
    """Build the sdist and the wheel, ``twine check`` them, install the wheel with the
    ``cli,sandbox`` extras in a fresh venv and use it from outside the checkout (what
    ``.ci/run`` does; ``scripts/check_package.py``)."""
    session.install("build>=1.2", "twine>=7")
    session.run("python", "scripts/check_package.py", *session.posargs)
