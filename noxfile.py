"""Developer sessions: ``nox -s tests lint typecheck``, ``nox -s bench``, ``nox -s demo``."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = ["3.11"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (unit and loopback integration tests)."""
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
    """The benchmarks in benchmarks/ (fan-out, per-call overhead, memory, import), each
    printing its figures and ratios. ``nox -s bench -- --quick`` is a smoke run."""
    session.install("-e", ".[dev]")
    for script in ("bench_fanout", "bench_overhead", "bench_memory", "bench_import"):
        session.run("python", "-m", f"benchmarks.{script}", *session.posargs)


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The README's first command: the CLI demo against the embedded sandbox."""
    session.install(".[cli,sandbox]")
    session.run("thingspace-callbacks", "demo")
