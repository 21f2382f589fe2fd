"""``python -m thingspace_callbacks``: the ``thingspace-callbacks`` command line."""

from __future__ import annotations


def _run() -> None:
    # Without the [cli] extra, `main` is a stand-in that fails in one line (exit 3),
    # exactly as the console script does.
    from .cli import main

    main(prog_name="thingspace-callbacks")


if __name__ == "__main__":
    _run()
