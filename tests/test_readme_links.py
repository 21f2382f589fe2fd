"""The README is also the package's page on PyPI, where a relative link leads nowhere:
every link is absolute, those into the repository name a file (and a heading) that
exists, and the package metadata links the same repository as the docs site."""

from __future__ import annotations

import re
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _repository() -> str:
    match = re.search(r"^repo_url: (\S+)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    assert match is not None, "mkdocs.yml names the repository (repo_url)"
    return match[1].rstrip("/")


def _links(text: str) -> list[str]:
    """Every link target of a Markdown text, reference links resolved."""
    parser = MarkdownIt("commonmark")
    env: dict[str, object] = {}
    tokens = parser.parse(text, env)
    references = env.get("references", {})
    assert isinstance(references, dict)
    inline_text = " ".join(t.content for t in tokens if t.type == "inline")
    undefined = {
        label
        for label in re.findall(r"\]\[([^\]]+)\]", inline_text)
        if label.upper() not in references
    }
    assert undefined == set(), f"reference links without a definition: {undefined}"
    hrefs: list[str] = []
    for token in tokens:
        for child in token.children or ():
            if child.type == "link_open":
                hrefs.append(str(child.attrs["href"]))
    return hrefs


def _slug(heading: str) -> str:
    """The anchor GitHub (and the docs site) give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_readme_link_is_absolute() -> None:
    links = _links(README.read_text())

    assert len(links) >= 20
    assert [link for link in links if not link.startswith("https://")] == []


def test_links_into_the_repository_name_what_exists() -> None:
    repository = _repository()
    broken = []
    for link in _links(README.read_text()):
        if not link.startswith(repository + "/"):
            continue
        path, _, anchor = link.removeprefix(repository + "/").partition("#")
        kind, _, rest = path.partition("/main/")
        target = ROOT / rest
        if kind not in ("blob", "tree") or not target.exists():
            broken.append(link)
            continue
        if target.is_dir() != (kind == "tree"):
            broken.append(link)
        elif anchor:
            headings = re.findall(r"^#+ (.+)$", target.read_text(), flags=re.MULTILINE)
            if anchor not in {_slug(h) for h in headings}:
                broken.append(link)
    assert broken == []


def test_the_package_metadata_links_the_repository() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    table = pyproject.split("\n[project.urls]\n", 1)[1].split("\n[", 1)[0]
    urls = dict(re.findall(r'^(\w+) = "([^"]+)"$', table, flags=re.MULTILINE))
    repository = _repository()

    assert set(urls) >= {"Homepage", "Documentation", "Source", "Issues"}
    assert urls["Source"] == repository
    assert urls["Issues"] == f"{repository}/issues"
    assert all(url.startswith(repository) for url in urls.values())
    assert urls["Documentation"] in {f"{repository}/tree/main/docs", _site_url()}


def _site_url() -> str | None:
    match = re.search(r"^site_url: (\S+)$", (ROOT / "mkdocs.yml").read_text(), re.MULTILINE)
    return match[1] if match else None
