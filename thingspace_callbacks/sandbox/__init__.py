"""An embedded fake ThingSpace for trying the SDK and testing code that uses it.

Needs the ``[sandbox]`` extra (starlette and uvicorn)::

    pip install "thingspace-callbacks[sandbox]"

:class:`Sandbox` serves the 20 callback operations at their real paths, issues and
expires tokens and sessions like ThingSpace, injects :class:`Faults`, and delivers sample
notifications to registered listeners. ``Sandbox().client()`` gives an
:class:`~thingspace_callbacks.AsyncThingSpaceClient` bound to it in process;
``Sandbox().serve()`` runs it on a real socket.
"""

from __future__ import annotations

from .._extras import requires_extra

with requires_extra(__name__, "sandbox", ("starlette", "uvicorn")):
    from ..receiver._verify import sign_body
    from ._app import API_ROOT
    from ._credentials import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SANDBOX_PASSWORD,
        SANDBOX_USERNAME,
    )
    from ._delivery import Delivery, NoListenerError, build_message
    from ._faults import Faults
    from ._sandbox import IN_PROCESS_BASE_URL, Sandbox, SandboxServer
    from ._state import FAMILIES, Family, Registration

__all__ = (
    "API_ROOT",
    "FAMILIES",
    "IN_PROCESS_BASE_URL",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PASSWORD",
    "SANDBOX_USERNAME",
    "Delivery",
    "Family",
    "Faults",
    "NoListenerError",
    "Registration",
    "Sandbox",
    "SandboxServer",
    "build_message",
    "sign_body",
)
