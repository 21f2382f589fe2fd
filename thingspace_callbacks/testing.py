"""Helpers for testing code that uses thingspace-callbacks against fake servers (respx,
a sandbox of your own) rather than through the shipped pytest plugin's fixtures.

Clients built with the same credentials and API root in one process share their tokens
and M2M session (see ``token_store`` of :class:`~thingspace_callbacks.AsyncThingSpaceClient`),
so a test's client would find the tokens a previous test's fake server issued. The
shipped pytest plugin resets them around every test; elsewhere (unittest, another
runner, a test that changes servers midway) call :func:`reset_shared_credentials`.
"""

from __future__ import annotations

import sys

__all__ = ["reset_shared_credentials"]

_REGISTRY = "thingspace_callbacks._auth.process"


def reset_shared_credentials() -> None:
    """Forget the tokens and sessions shared by the clients of this process, without
    logging anything out (a fake server's sessions need no logout); the next client
    obtains its own. Clients still open keep theirs, and log nothing out when they
    close.

    ::

        from thingspace_callbacks.testing import reset_shared_credentials

        class ListenerTests(unittest.TestCase):
            def tearDown(self):
                reset_shared_credentials()
    """
    # No client was ever built when the registry is not loaded: nothing to forget, and
    # no reason to import the client's dependencies into a test run.
    registry = sys.modules.get(_REGISTRY)
    if registry is not None:
        registry.PROCESS_CREDENTIALS.reset()
