"""Published JSON Schemas, shipped as package data.

``scene-graph.schema.json`` describes ``levelforge.scene-graph/1`` (CONTRACT §5).
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

SCENE_GRAPH_SCHEMA_FILE = "scene-graph.schema.json"


def load_scene_graph_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the scene graph, as a dict."""
    text = files(__name__).joinpath(SCENE_GRAPH_SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
