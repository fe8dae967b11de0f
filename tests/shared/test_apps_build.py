"""Every service's app can be built from its default settings (catches wiring errors before a stack run)."""

import importlib

import pytest
from fastapi import FastAPI

from devstack.config import SERVICES


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_the_app_builds(service):
    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app()
    assert isinstance(app, FastAPI)
    assert any(getattr(route, "path", None) == "/readyz" for route in app.routes)


@pytest.mark.parametrize("service", [s.name for s in SERVICES if s.name != "gateway"])
def test_every_error_response_in_the_openapi_is_problem_json(service):
    doc = importlib.import_module(f"services.{service}.app").create_app().openapi()
    assert "Problem" in doc["components"]["schemas"] and "HTTPValidationError" not in doc["components"]["schemas"]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert list(response.get("content", {})) == ["application/problem+json"], (method, path, status)


def _dependency_calls(dependant):
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_no_request_resolves_a_dependency_in_a_worker_thread(service):
    # FastAPI runs a plain `def` dependency (or endpoint) in anyio's thread pool: a thread hop on every request
    # (py-spy showed it on every list call, through the pagination dependency).
    import inspect

    from fastapi.routing import APIRoute

    def api_routes(routes):
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            elif hasattr(route, "original_router"):  # a router included in the app (FastAPI keeps it apart)
                yield from api_routes(route.original_router.routes)

    app = importlib.import_module(f"services.{service}.app").create_app()
    routes = list(api_routes(app.routes))
    assert len(routes) > 5
    sync = set()
    for route in routes:
        for call in (route.dependant.call, *_dependency_calls(route.dependant)):
            # A callable object (a dependency class's instance) is resolved through its class's __call__.
            target = call if inspect.isfunction(call) else type(call).__call__
            if inspect.isclass(call) or inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(target):
                continue
            sync.add(f"{route.path}: {getattr(call, '__qualname__', call)}")
    assert not sync, sorted(sync)
