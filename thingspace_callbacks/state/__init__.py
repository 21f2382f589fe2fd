"""Desired state: declare the listeners every account should have, see where they
differ (:func:`plan`), and make them so (:func:`apply`), as ``terraform plan/apply``
does for infrastructure::

    state = State.load("listeners.toml")
    async with AsyncThingSpaceClient() as client:
        plan_ = await plan(client, state)
        print(plan_.counts)                  # {'add': 3, 'change': 1, ...}
        report = await apply(client, plan_)
        print(report.counts)                 # {'applied': 4, 'conflict': 0, ...}

A :class:`State` (a TOML file, or built in code) names accounts, the
:class:`Listener` each should have, and the families to prune. :func:`plan` reads what
each account has with the fan-out machinery and returns a :class:`Plan`: one
:class:`PlanEntry` per (account, family, service), ``add``, ``change``, ``remove``,
``unchanged`` or ``unreadable`` (a read that failed: never added over, never pruned).
:func:`apply` (or an :class:`Applier` to iterate) re-reads each account's listeners
before changing them and leaves alone, as a ``conflict``, what moved since the plan.
:func:`apply_queued` does the changes on the ``worker`` pool instead (the ``redis``
extra). Secrets appear only as salted digests, in every output and file.

The guide is "Keeping a fleet's listeners right" (``docs/guides/desired-state.md``).
"""

from __future__ import annotations

from .._exports import publish
from ._apply import Applier, ApplyReport, ApplyResult, Outcome, apply
from ._entries import Kind, PlanEntry
from ._errors import PlanFileError, PruneRefusedError, StateFileError
from ._model import FAMILY_ALIASES, Listener, State
from ._observed import NOT_RETURNED, SENSITIVE, Snapshot
from ._plan import DEFAULT_MAX_PRUNE_SHARE, PLAN_FORMAT, Plan, plan
from ._queued import apply_queued

__all__ = (
    "DEFAULT_MAX_PRUNE_SHARE",
    "FAMILY_ALIASES",
    "NOT_RETURNED",
    "PLAN_FORMAT",
    "SENSITIVE",
    "Applier",
    "ApplyReport",
    "ApplyResult",
    "Kind",
    "Listener",
    "Outcome",
    "Plan",
    "PlanEntry",
    "PlanFileError",
    "PruneRefusedError",
    "Snapshot",
    "State",
    "StateFileError",
    "apply",
    "apply_queued",
    "plan",
)

publish(globals(), __all__, module=__name__)
