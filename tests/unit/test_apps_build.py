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
