"""The docs' pictures of the command line, made from its real output so they cannot
drift from it.

- ``demo.svg``: ``thingspace-callbacks demo`` (the in-process sandbox; no credentials).
- ``bulk.svg``: ``thingspace-callbacks bulk register`` on 300 accounts against a sandbox
  served on 127.0.0.1 that fails 2% of the calls: the live progress bar, the failure
  notes and the summary, as a terminal shows them at the end of the run.

Each command runs in a subprocess as a user would run it, with a wide terminal
(``COLUMNS``) and colours forced; its output is replayed through a recording
``rich.console.Console`` and saved as SVG. The docs build calls :func:`render_all`
(through ``scripts/mkdocs_hooks.py``) before every build; to look at them by hand::

    python scripts/screenshots.py OUTPUT_DIRECTORY
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["final_screen", "render_all", "render_bulk", "render_demo", "to_svg"]

WIDTH = 118
"""Columns of the pretend terminal (the demo's table gets more, to fit its rows)."""
DEMO_WIDTH = 150

_CONTROL = re.compile(r"(\x1b\[\?25[lh]|\x1b\[2K|\x1b\[\d*A|\r|\n)")


def _run(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, *, width: int = WIDTH
) -> subprocess.CompletedProcess[str]:
    """``python -m thingspace_callbacks ARGS`` as if in a colour terminal ``width`` wide."""
    environment = {
        **os.environ,
        "COLUMNS": str(width),
        "LINES": "50",
        "FORCE_COLOR": "1",
        "TERM": "xterm-256color",
        **env,
    }
    environment.pop("NO_COLOR", None)
    completed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "thingspace_callbacks", *args],
        env=environment,
        cwd=cwd,
        capture_output=True,
        timeout=120,
        check=False,
    )
    # Bytes, decoded here: text mode would turn the "\r" that redraws a line into "\n".
    return subprocess.CompletedProcess(
        completed.args,
        completed.returncode,
        completed.stdout.decode("utf-8"),
        completed.stderr.decode("utf-8"),
    )


def final_screen(stream: str) -> str:
    """What a terminal shows after ``stream`` was written to it: rich redraws a live
    display by going back to the start of the line (``\\r``, cursor up) and erasing it,
    so keep only each line's last drawing. Colour codes are kept."""
    lines = [""]
    row = 0
    for token in _CONTROL.split(stream):
        if not token or token in ("\x1b[?25l", "\x1b[?25h"):
            continue
        if token in ("\r", "\x1b[2K"):
            lines[row] = ""
        elif token == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif token.startswith("\x1b[") and token.endswith("A"):
            row = max(0, row - int(token[2:-1] or 1))
        else:
            lines[row] += token
    return "\n".join(lines).rstrip("\n") + "\n"


def to_svg(command: str, output: str, *, title: str, width: int = WIDTH) -> str:
    """An SVG of a terminal window showing ``$ command`` and then ``output`` (text with
    ANSI colour codes)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(
        record=True,
        width=width,
        file=io.StringIO(),
        force_terminal=True,
        color_system="truecolor",
        legacy_windows=False,
    )
    console.print(Text("$ ", style="bold green") + Text(command, style="bold"))
    console.print(Text.from_ansi(output), soft_wrap=False, overflow="fold")
    svg = console.export_svg(title=title)
    # rich links a web font from a CDN; the docs are served as they are, offline.
    return re.sub(r"@font-face\s*\{.*?\}", "", svg, flags=re.DOTALL)


def render_demo() -> str:
    """``thingspace-callbacks demo``, as SVG."""
    with tempfile.TemporaryDirectory() as directory:
        result = _run(["demo"], {}, Path(directory), width=DEMO_WIDTH)
    if result.returncode != 0:
        raise RuntimeError(f"thingspace-callbacks demo failed:\n{result.stderr}")
    return to_svg(
        "thingspace-callbacks demo",
        result.stdout,
        title="thingspace-callbacks demo",
        width=DEMO_WIDTH,
    )


def render_bulk() -> str:
    """``thingspace-callbacks bulk register`` with its progress bar, as SVG."""
    from thingspace_callbacks.sandbox import (
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        SANDBOX_PASSWORD,
        SANDBOX_USERNAME,
        Faults,
        Sandbox,
    )

    args = [
        "--max-retries", "0",
        "bulk", "register", "location", "accounts.txt",
        "--service", "Location",
        "--url", "https://example.com/hooks/location",
        "--concurrency", "20",
        "--progress",
    ]  # fmt: skip
    faults = Faults(error_rate=0.02, error_status=503, latency=(0.002, 0.01), seed=7)
    with tempfile.TemporaryDirectory() as directory, Sandbox(faults=faults).serve() as server:
        cwd = Path(directory)
        (cwd / "accounts.txt").write_text("".join(f"{n:010d}-00001\n" for n in range(1, 301)))
        env = {
            "THINGSPACE_BASE_URL": server.base_url,
            "THINGSPACE_CLIENT_ID": SANDBOX_CLIENT_ID,
            "THINGSPACE_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "THINGSPACE_USERNAME": SANDBOX_USERNAME,
            "THINGSPACE_PASSWORD": SANDBOX_PASSWORD,
        }
        result = _run(args, env, cwd)
    if result.returncode not in (0, 1):  # 1: some accounts failed, as intended
        raise RuntimeError(f"thingspace-callbacks bulk failed:\n{result.stderr}")
    # In a terminal, stderr (the progress bar, failure notes) comes first; the summary
    # table on stdout follows once the bar is gone.
    output = final_screen(result.stderr) + result.stdout
    return to_svg(
        "thingspace-callbacks " + " ".join(args),
        output,
        title="thingspace-callbacks bulk register (a sandbox failing 2% of calls)",
    )


def render_all() -> dict[str, str]:
    """Every picture: file name to SVG text."""
    return {"demo.svg": render_demo(), "bulk.svg": render_bulk()}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    directory = Path(args[0])
    directory.mkdir(parents=True, exist_ok=True)
    for name, svg in render_all().items():
        (directory / name).write_text(svg, encoding="utf-8")
        print(directory / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
