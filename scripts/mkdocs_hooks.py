"""MkDocs hooks (``mkdocs.yml`` loads this file): before every build, make the docs'
pictures of the command line from its real output (``scripts/screenshots.py``) and add
them to the site as ``assets/generated/*.svg``. They are never written into ``docs/``,
so they cannot be stale and need not be committed."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.screenshots")

GENERATED = "assets/generated"


def _screenshots() -> Any:
    path = Path(__file__).with_name("screenshots.py")
    spec = importlib.util.spec_from_file_location("_docs_screenshots", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_files(files: Files, config: Any) -> Files:
    for name, svg in _screenshots().render_all().items():
        files.append(File.generated(config, f"{GENERATED}/{name}", content=svg))
        log.info("generated %s/%s", GENERATED, name)
    return files
