"""The base of the services' request bodies: a field the API does not know is refused (422 naming it), and
text arrives stripped of surrounding whitespace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
