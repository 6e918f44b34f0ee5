"""Exports of a level to other tools' formats: pure functions of (scene graph, minimap).

``EXPORTS`` maps each exported artifact's name (CONTRACT §5) to its content type and the
function that makes its bytes, so ``Level.artifacts()`` can add them in one line::

    {name: export(self.scene_graph, self.minimap) for name, (_, export) in EXPORTS.items()}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The module, not the name: ``pipeline`` may import this package while it is still being
# initialised, and ``encode_json`` is only looked up when an export runs.
from levelforge.generation import pipeline
from levelforge.generation.export.svg import preview_svg
from levelforge.generation.export.tiled import tiled_json as encode_tiled_map
from levelforge.generation.export.tiled import tiled_map

Export = Callable[[dict[str, Any], str], bytes]


def tiled_json(scene_graph: dict[str, Any], minimap: str) -> bytes:
    """``tiled.json``: the Tiled JSON map, encoded as the scene graph is."""
    return encode_tiled_map(scene_graph, minimap, pipeline.encode_json)


def preview_svg_bytes(scene_graph: dict[str, Any], minimap: str) -> bytes:
    """``preview.svg``: the SVG picture, UTF-8."""
    return preview_svg(scene_graph, minimap).encode()


EXPORTS: dict[str, tuple[str, Export]] = {
    "tiled.json": ("application/json", tiled_json),
    "preview.svg": ("image/svg+xml", preview_svg_bytes),
}

__all__ = ["EXPORTS", "Export", "preview_svg", "preview_svg_bytes", "tiled_json", "tiled_map"]
