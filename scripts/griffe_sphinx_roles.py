"""A griffe extension for the docs (``mkdocs.yml`` loads it).

The package's docstrings are written for Sphinx: roles (``:class:`~thingspace_callbacks.
sandbox.Sandbox```, ``:func:`redact```) and literal blocks after ``::``, which Markdown
would print as they are. Each role becomes a code span,
linked to the object's entry in the API reference under its *public* name
(``thingspace_callbacks.ThingSpaceAuth``, not ``thingspace_callbacks._auth.thingspace.
ThingSpaceAuth``). The links are optional cross-references: a role naming something the
reference does not render (a private helper) stays plain code, so ``mkdocs build
--strict`` never fails on one.
"""

from __future__ import annotations

import html
import importlib
import re
from typing import Any

import griffe

__all__ = ["SphinxRoles", "convert", "public_paths"]

PACKAGE = "thingspace_callbacks"

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|data|exc|mod|obj|const):`(?P<target>[^`]+)`")


_LITERAL = re.compile(r"(\S)::$", flags=re.MULTILINE)


def public_paths(pkg: griffe.Module) -> dict[str, str]:
    """The defining ("canonical") path of every exported object, mapped to the path
    users import it from: the names in the ``__all__`` of each public module."""
    paths: dict[str, str] = {}
    pending: list[griffe.Module] = [pkg]
    while pending:
        module = pending.pop()
        pending.extend(
            m
            for m in module.modules.values()
            if not isinstance(m, griffe.Alias) and not m.name.startswith("_")
        )
        for name in _exports(module):
            if name not in module.members:
                continue
            member = module.members[name]
            try:
                target = member.final_target if isinstance(member, griffe.Alias) else member
            except (griffe.AliasResolutionError, griffe.CyclicAliasError):
                continue
            # The shortest public path wins (the package root over a subpackage).
            public = f"{module.path}.{name}"
            known = paths.get(target.path)
            if known is None or len(public) < len(known):
                paths[target.path] = public
    return paths


def _exports(module: griffe.Module) -> list[str]:
    """The module's ``__all__``: read by importing it, since the package root builds its
    own from a table griffe cannot evaluate; griffe's static reading otherwise."""
    try:
        names = importlib.import_module(module.path).__all__
    except (ImportError, AttributeError):
        names = module.exports or ()
    return [name for name in names if isinstance(name, str)]


def convert(
    text: str, obj: griffe.Object | None = None, public: dict[str, str] | None = None
) -> str:
    """``text`` with every Sphinx cross-reference role replaced by an optional autoref
    (or by plain code when the name cannot be resolved from ``obj``'s scope)."""

    def replace(match: re.Match[str]) -> str:
        target = match["target"].strip()
        title = None
        if "<" in target and target.endswith(">"):  # :class:`title <path>`
            title, _, target = target[:-1].partition("<")
            title = title.strip()
        short = target.startswith("~")
        target = target.lstrip("~.")
        if title is None:
            title = target.rsplit(".", 1)[-1] if short else target
        code = f"<code>{html.escape(title)}</code>"
        identifier = _resolve(target, obj)
        if identifier is None:
            return code
        identifier = _publish(identifier, obj, public or {})
        return f'<autoref identifier="{html.escape(identifier)}" optional>{code}</autoref>'

    # An RST literal block ("... when done::" and an indented block) is an indented
    # code block in Markdown already; only the doubled colon is left to drop.
    return _LITERAL.sub(r"\1:", _ROLE.sub(replace, text))


def _resolve(target: str, obj: griffe.Object | None) -> str | None:
    """The full path ``target`` names, seen from ``obj``'s scope (``None`` if unknown)."""
    if target.startswith(PACKAGE):
        return target
    scope: Any = obj
    while scope is not None:
        try:
            resolved: str = scope.resolve(target)
        except (griffe.NameResolutionError, AttributeError, KeyError, ValueError):
            scope = scope.parent
            continue
        return resolved
    return None


def _publish(path: str, obj: griffe.Object | None, public: dict[str, str]) -> str:
    """``path`` as the reference names it: follow re-exports to the defining object,
    then use its public name (for a member, its class's public name)."""
    root: Any = obj.package if obj is not None else None
    canonical = path
    if root is not None and path.startswith(PACKAGE + "."):
        try:
            found = root[path[len(PACKAGE) + 1 :]]
            canonical = found.final_target.path if isinstance(found, griffe.Alias) else found.path
        except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            canonical = path
    head, rest = canonical, ""
    while head:
        if head in public:
            return public[head] + rest
        head, _, tail = head.rpartition(".")
        rest = f".{tail}{rest}"
    return path


_PARAM = re.compile(r"^:param (?P<name>\w+):", flags=re.MULTILINE)


def _add_field_constructor(cls: griffe.Class) -> None:
    """Give a class whose docstring documents ``:param:``s its constructor does not
    name (pydantic models: ``__init__(**data)``) the signature it really accepts: its
    annotated fields, as keyword-only parameters with their defaults. griffe then
    types and checks those parameters like any other."""
    assert cls.docstring is not None
    if "__init__" in cls.members:
        return
    documented = _PARAM.findall(cls.docstring.value)
    fields = [
        member
        for member in cls.members.values()
        if isinstance(member, griffe.Attribute)
        and member.annotation is not None
        and "property" not in member.labels
        and not member.name.startswith("_")
    ]
    names = {field.name for field in fields}
    if not documented or not set(documented) <= names:
        return
    # griffe's ParameterKind is a StrEnum, a plain str to a checker set for Python 3.10.
    positional: Any = griffe.ParameterKind.positional_or_keyword
    keyword_only: Any = griffe.ParameterKind.keyword_only
    parameters = [griffe.Parameter("self", kind=positional)]
    parameters += [
        griffe.Parameter(
            field.name,
            annotation=field.annotation,
            kind=keyword_only,
            default=field.value,
        )
        for field in fields
    ]
    init = griffe.Function("__init__", parameters=griffe.Parameters(*parameters), lineno=cls.lineno)
    cls.set_member("__init__", init)


class SphinxRoles(griffe.Extension):
    """Rewrites the roles in every docstring of a package once it is loaded (when every
    name a docstring mentions can be resolved)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        public = public_paths(pkg)
        pending: list[griffe.Object] = [pkg]
        while pending:
            obj = pending.pop()
            if obj.docstring is not None and ":" in obj.docstring.value:
                obj.docstring.value = convert(obj.docstring.value, obj, public)
                if isinstance(obj, griffe.Class):
                    _add_field_constructor(obj)
            pending.extend(
                member for member in obj.members.values() if not isinstance(member, griffe.Alias)
            )
