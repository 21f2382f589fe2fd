"""The public API: ``__all__`` is exactly what the package offers, under its own name."""

from __future__ import annotations

import importlib.metadata
from types import ModuleType

import thingspace_callbacks

# The core API every later change must keep (new names may be added beside it).
CORE = {
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncThingSpaceClient",
    "Auth",
    "AuthContext",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorException",
    "ErrorResponseError2Exception",
    "InternalServerError",
    "NOT_GIVEN",
    "NoAuth",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "InvalidArgumentError",
    "RestErrorResponseException",
    "ThingSpaceError",
    "UnprocessableEntityError",
    "__version__",
}


def _public_names(module: ModuleType) -> set[str]:
    # The package imports its names on first use: resolve every listed one (a name
    # that does not resolve fails here), then look at everything the module holds.
    for name in module.__all__:
        getattr(module, name)
    return {
        name
        for name in {*dir(module), *vars(module)}
        if not name.startswith("_")
        and not isinstance(getattr(module, name), ModuleType)
        # `from __future__ import annotations` binds this name in every module.
        and name != "annotations"
    } | {"__version__"}


def test_all_is_a_tuple_without_duplicates() -> None:
    assert isinstance(thingspace_callbacks.__all__, tuple)
    assert len(set(thingspace_callbacks.__all__)) == len(thingspace_callbacks.__all__)


def test_all_is_exactly_the_public_names() -> None:
    assert set(thingspace_callbacks.__all__) == _public_names(thingspace_callbacks)


def test_core_names_are_exported() -> None:
    assert set(thingspace_callbacks.__all__) >= CORE


def test_exported_classes_report_the_package_as_module() -> None:
    classes = [
        value
        for value in (getattr(thingspace_callbacks, name) for name in thingspace_callbacks.__all__)
        if isinstance(value, type)
    ]
    assert classes
    for cls in classes:
        assert cls.__module__ == "thingspace_callbacks", cls


def test_version_matches_the_installed_distribution() -> None:
    assert thingspace_callbacks.__version__ == importlib.metadata.version("thingspace-callbacks")


def test_seed_exception_names_are_one_class() -> None:
    assert (
        thingspace_callbacks.ErrorException
        is thingspace_callbacks.RestErrorResponseException
        is thingspace_callbacks.ErrorResponseError2Exception
        is thingspace_callbacks.APIStatusError
    )
