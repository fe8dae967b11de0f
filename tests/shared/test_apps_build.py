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
