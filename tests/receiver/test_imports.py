"""The receiver stays optional: the core SDK does not import it, and it needs neither
the sandbox nor a web framework to verify and parse."""

from __future__ import annotations

import subprocess
import sys
import types

import thingspace_callbacks
import thingspace_callbacks.receiver as receiver


def test_core_sdk_does_not_import_the_receiver_nor_it_the_sandbox() -> None:
    code = (
        "import sys, thingspace_callbacks; core = set(sys.modules); "
        "import thingspace_callbacks.receiver; receiver = set(sys.modules); "
        "print(' '.join(sorted(core))); print(' '.join(sorted(receiver)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    core_line, receiver_line = result.stdout.splitlines()
    core, with_receiver = set(core_line.split()), set(receiver_line.split())
    assert not {"thingspace_callbacks.receiver", "uvicorn", "starlette"} & core
    assert not {"thingspace_callbacks.sandbox", "uvicorn", "starlette"} & with_receiver


def test_public_names_are_exported_under_the_package() -> None:
    for name in receiver.__all__:
        obj = getattr(receiver, name)
        # A generic alias such as Handler (Callable[...]) passes isinstance(, type) on
        # Python 3.10; it is not a class of ours.
        if isinstance(obj, type) and not isinstance(obj, types.GenericAlias):
            assert obj.__module__ == "thingspace_callbacks.receiver", name
    assert issubclass(receiver.ReceiverError, thingspace_callbacks.ThingSpaceError)
