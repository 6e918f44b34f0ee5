"""Exports of a level to other tools' formats: pure functions of (scene graph, minimap).

``EXPORTS`` maps each exported artifact's name (CONTRACT §5) to its content type and the
function that makes its bytes, so ``Level.artifacts()`` can add them in one line::

    {name: export(self.scene_graph, self.minimap) for name, (_, export) in EXPORTS.items()}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from levelforge.generation.export.svg import preview_svg
from levelforge.generation.export.tiled import tiled_json, tiled_map

Export = Callable[[dict[str, Any], str], bytes]


def preview_svg_bytes(scene_graph: dict[str, Any], minimap: str) -> bytes:
    """``preview.svg``: the SVG picture, UTF-8."""
    return preview_svg(scene_graph, minimap).encode()


EXPORTS: dict[str, tuple[str, Export]] = {
    "tiled.json": ("application/json", tiled_json),
    "preview.svg": ("image/svg+xml", preview_svg_bytes),
}

__all__ = ["EXPORTS", "Export", "preview_svg", "preview_svg_bytes", "tiled_json", "tiled_map"]
