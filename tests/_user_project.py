"""How the tests run pytest over a user's project (a scratch directory of its own).

A user's project has the pytest plugins its scenario names. The plugins installed for
this suite alone (hypothesis, xdist, respx, pytest-timeout) are left out of those runs:
each is loaded, and its package's modules rewritten for assertions, at every pytest
start (a second of CPU time on Python 3.10 without bytecode caches), and none of them
bears on what these runs check. Every other plugin is loaded from its entry point, as in
a user's project, the package's own included.
"""

from __future__ import annotations

__all__ = ["UNRELATED_PLUGINS"]

UNRELATED_PLUGINS: tuple[str, ...] = (
    "-p", "no:hypothesispytest",
    "-p", "no:xdist",
    "-p", "no:xdist.looponfail",
    "-p", "no:respx",
    "-p", "no:timeout",
)  # fmt: skip
"""``pytest`` options that keep this suite's own plugins out of a user's project."""
