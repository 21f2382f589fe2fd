"""``python -m thingspace_callbacks.cli.listen``: the ``listen`` command on its own."""

from __future__ import annotations

if __name__ == "__main__":  # pragma: no cover
    from . import listen

    listen()
