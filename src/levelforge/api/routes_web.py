"""The web viewer (CONTRACT §2, ``GET /``): static files of ``levelforge/web/``.

``GET /`` is the page; ``GET /web/{name}`` its scripts and style sheet. Only the files
that ship in that folder with a known type are served, by name: nothing else is ever read.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

from fastapi import APIRouter, Request, Response

from levelforge.api.problems import Problem

router = APIRouter(include_in_schema=False)

INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@lru_cache(maxsize=1)
def web_files() -> dict[str, str]:
    """Name → content type of every file the viewer ships (listed once per process)."""
    folder = resources.files("levelforge").joinpath("web")
    files = {}
    for entry in folder.iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in CONTENT_TYPES:
            files[entry.name] = CONTENT_TYPES[suffix]
    return files


def web_file(name: str, request: Request) -> Response:
    content_type = web_files().get(name)
    if content_type is None:
        raise Problem(404, "not_found", f"no file named {name!r}")
    data = resources.files("levelforge").joinpath("web", name).read_bytes()
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


@router.api_route("/", methods=["GET", "HEAD"])
def viewer(request: Request) -> Response:
    return web_file(INDEX, request)


@router.api_route("/web/{name}", methods=["GET", "HEAD"])
def viewer_file(name: str, request: Request) -> Response:
    return web_file(name, request)
