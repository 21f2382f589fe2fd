"""``python -m thingspace_callbacks``: the ``thingspace-callbacks`` command line."""

from __future__ import annotations

import sys


def _run() -> None:
    try:
        from .cli import main
    except ImportError as exc:
        sys.exit(f"Error: {exc}")
    main(prog_name="thingspace-callbacks")


if __name__ == "__main__":
    _run()
