"""preview_svg: a picture of a level (CONTRACT §5 ``preview.svg``), deterministic.

The picture is drawn in tile units (``viewBox`` = the map, one unit a tile, plus a legend
below), so it scales to any size. Tiles are drawn from the minimap, which is the truth
about the grid (cave rooms are not rectangles): each class of tile is one ``<path>`` of
horizontal 1-tile strokes, one per run of tiles in a row, in relative coordinates, so a
512x512 map stays a few hundred kilobytes. Doors, keys, treasure, enemies, the boss, the
entrance and the exit are one ``<use>`` of a marker each, grouped by class in
``<g class="markers">``; enemies are coloured by level on a fixed 1-10 scale. On a level
whose spec asks for design (``constraints`` or ``prefabs``, CONTRACT §4.1), ``<g
class="design">`` above them marks the critical path, a dashed line through the centres of
its rooms from the entrance's to the exit's, and each prefab room, outlined on its wall
ring (``data-prefab`` its name, ``data-room`` its id); the legend then names both.

Every piece of text that comes from the scene graph is escaped. Pure: same input, same
output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from levelforge.generation.export.design import Design, design_for

ROCK = "#16161d"
WALL = "#5f5866"
ROOM = "#d9cfb6"
CORRIDOR = "#a3b4c6"
DOOR_OPEN = "#b7793f"
DOOR_LOCKED = "#d6336c"
KEY = "#fab005"
TREASURE = "#37b24d"
ENTRANCE = "#1c7ed6"
EXIT = "#7048e8"
BOSS = "#e03131"
CRITICAL_PATH = "#ffd43b"
PREFAB = "#22b8cf"
INK = "#1a1a1a"
TEXT = "#e9ecef"
ENEMY_LEVELS = (
    "#fff3bf",
    "#ffe066",
    "#ffc94d",
    "#ffa94d",
    "#ff8c3a",
    "#f76707",
    "#e8590c",
    "#c92a2a",
    "#a61e4d",
    "#5f0f40",
)
"""The colour of an enemy of level 1, 2, ... 10 (higher levels take the last)."""

LEGEND_UNITS_WIDE = 64
LEGEND_UNITS_HIGH = 13
MIN_PICTURE_TILES = 48
MAX_PIXELS = 1200
MAX_SIDE = 512

_DEFS = (
    "<defs>"
    '<rect id="m-door" width="1" height="1"/>'
    '<g id="m-locked"><rect width="1" height="1"/>'
    f'<circle cx=".5" cy=".38" r=".16" fill="{INK}"/>'
    f'<path d="M.43 .45h.14v.35h-.14z" fill="{INK}"/></g>'
    '<path id="m-key" d="M.12 .5a.2 .2 0 1 0 .4 0a.2 .2 0 1 0-.4 0zM.5 .43h.4v.14h-.06v.17h-.1v-.17h-.24z"/>'
    '<path id="m-treasure" d="M.5 .1L.9 .5L.5 .9L.1 .5z"/>'
    '<circle id="m-enemy" cx=".5" cy=".5" r=".36"/>'
    '<path id="m-boss" d="M.5-.2L.67 .27H1.16L.77 .57L.92 1.05L.5 .76L.08 1.05L.23 .57L-.16 .27H.33z"/>'
    '<path id="m-entrance" d="M.5 .08L.92 .9H.08z"/>'
    '<path id="m-exit" d="M.08 .3H.5V.08L.94 .5L.5 .92V.7H.08z"/>'
    "</defs>"
)
_DESIGN_DEFS = (
    "<defs>"
    '<path id="m-path" d="M0 .5H1.2" fill="none" stroke-width=".3" stroke-dasharray=".45 .25"/>'
    '<rect id="m-prefab" x=".1" y=".1" width=".8" height=".8" fill="none" stroke-width=".25"/>'
    "</defs>"
)
"""The legend's swatches of the designer's marks, drawn only on a designed level."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})

# Tile classes. Each minimap byte is looked up in a class table: drawn (0), not drawn (1)
# or a newline (2), times ``_RUNS``, so that a run's class plus its length indexes its
# path command in ``_COMMANDS``: a run of n drawn tiles strokes ``h{n}``, a run of n
# others moves ``m{n} 0``, newlines stay (each replaced by the row's return move).
_RUNS = MAX_SIDE + 1
_COMMANDS = np.array(
    [f"h{n}" for n in range(_RUNS)] + [f"m{n} 0" for n in range(_RUNS)] + ["\n" * n for n in range(_RUNS)],
    dtype=object,
)


def _classes(drawn: str) -> npt.NDArray[np.int32]:
    classes = np.full(256, _RUNS, dtype=np.int32)
    classes[list(drawn.encode())] = 0
    classes[ord("\n")] = 2 * _RUNS
    return classes


_WALL_CLASSES = _classes("#.+L@>k$eB")
"""Everything but rock, drawn in the wall colour first: floors and doors cover the rest."""
_FLOOR_CLASSES = _classes(".@>k$eB")
"""Floor tiles, entities' tiles included."""
_FIRST = np.zeros(1, dtype=np.intp)


def preview_svg(scene_graph: dict[str, Any], minimap: str) -> str:
    """The SVG picture of a level, as text."""
    head, tail = svg_frame(scene_graph, design_for(scene_graph))
    width = scene_graph["size"]["w"]
    codes = np.frombuffer(minimap.encode(), dtype=np.uint8)
    parts = [
        head,
        _mask_path("wall", WALL, _strokes(codes, _WALL_CLASSES), width),
        _mask_path("room", ROOM, _strokes(codes, _FLOOR_CLASSES), width),
        _corridor_path(scene_graph["corridors"]),
        "</g>",
        *_markers(scene_graph),
        tail,
    ]
    return "".join(parts)


def svg_frame(
    scene_graph: dict[str, Any], design: Design | None = None, spec_json: str | None = None
) -> tuple[str, str]:
    """The picture around its tiles and markers: the head (up to the opened tiles group)
    and the tail (the design's marks when there is a ``design``, the legend). Reads only
    the scene graph's ``schema``, ``seed``, ``spec``, ``size`` and ``stats``, so the
    compiled core passes just those and the ``design`` it read from its scene graph
    (and ``spec_json``, the spec as ``_JSON`` encodes it, which it has already)."""
    width, height = scene_graph["size"]["w"], scene_graph["size"]["h"]
    scale = max(width, MIN_PICTURE_TILES) / LEGEND_UNITS_WIDE
    total_w, total_h = max(width, MIN_PICTURE_TILES), height + LEGEND_UNITS_HIGH * scale
    pixels = max(1, min(16, MAX_PIXELS // int(max(total_w, total_h))))
    caption = escape(_caption(scene_graph))
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(total_w)} {_num(total_h)}" '
        f'width="{_num(total_w * pixels)}" height="{_num(total_h * pixels)}" '
        'role="img" aria-labelledby="title" font-family="sans-serif">'
        f'<title id="title">{caption}</title>'
        f"<desc>{escape(_description(scene_graph))}</desc>"
        f"<metadata>{escape(_metadata(scene_graph, spec_json))}</metadata>"
        f"{_DEFS}"
        f'<rect class="rock" width="{_num(total_w)}" height="{_num(total_h)}" fill="{ROCK}"/>'
        '<g class="tiles" fill="none" shape-rendering="crispEdges">'
    )
    marks, key = ("", _LEGEND_KEY) if design is None else (design_marks(design), _DESIGN_LEGEND_KEY)
    tail = (
        f"{marks}"
        f'<g class="legend" transform="translate(0 {height}) scale({_num(scale)})" '
        f'font-size="1.3" fill="{TEXT}"><text x=".8" y="2">{caption}</text>{key}</g>'
        "</svg>\n"
    )
    return head, tail


def design_marks(design: Design) -> str:
    """The critical path's line and the prefab rooms' outlines, in tile units."""
    line = "L".join([f"{_half(2 * b.x + b.w)} {_half(2 * b.y + b.h)}" for _, b in design.path])
    rooms = "".join(
        [
            f'<rect data-room="{escape(p.room)}" data-prefab="{escape(p.prefab)}" x="{p.bounds.x - 0.5}" '
            f'y="{p.bounds.y - 0.5}" width="{p.bounds.w + 1}" height="{p.bounds.h + 1}"/>'
            for p in design.prefabs
        ]
    )
    path = (
        f'<path class="critical-path" stroke="{CRITICAL_PATH}" stroke-width=".35" stroke-opacity=".85" '
        f'stroke-dasharray="1 .6" d="M{line}"/>'
        if line
        else ""
    )
    return (
        f'{_DESIGN_DEFS}<g class="design" fill="none" stroke-linecap="round" stroke-linejoin="round">'
        f'<g class="prefab-rooms" stroke="{PREFAB}" stroke-width=".45">{rooms}</g>{path}</g>'
    )


def escape(text: str) -> str:
    """``text`` safe as XML character data or a quoted attribute value: markup characters
    escaped, characters XML 1.0 cannot hold replaced by U+FFFD."""
    if text.isascii() and text.isprintable():  # the usual case, done by C string scans
        return (
            text.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&#39;")
        )
    return _NOT_XML.sub("\ufffd", text).translate(_ESCAPES)


def _caption(scene_graph: dict[str, Any]) -> str:
    spec, size = scene_graph["spec"], scene_graph["size"]
    return (
        f"levelforge level, seed {scene_graph['seed']}: {size['w']}x{size['h']}, "
        f"{spec['rooms']} rooms, {spec['theme']}, difficulty {spec['difficulty']}"
    )


def _description(scene_graph: dict[str, Any]) -> str:
    stats = scene_graph["stats"]
    return (
        f"{stats['rooms']} rooms, {stats['doors']} doors ({stats['locks']} locked), "
        f"{stats['enemies']} enemies, critical path of {stats['critical_path_rooms']} rooms"
    )


def _metadata(scene_graph: dict[str, Any], spec_json: str | None = None) -> str:
    """The facts of the level as compact JSON; with ``spec_json`` (the spec as ``_JSON``
    encodes it) that text put in the spec's place, not encoded again: the same text."""
    if spec_json is None:
        facts = {key: scene_graph[key] for key in ("schema", "seed", "spec", "size", "stats")}
        return _JSON.encode(facts)
    head = _JSON.encode({"schema": scene_graph["schema"], "seed": scene_graph["seed"]})
    tail = _JSON.encode({"size": scene_graph["size"], "stats": scene_graph["stats"]})
    return f'{head[:-1]},"spec":{spec_json},{tail[1:]}'


_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False)
"""``json.dumps`` with these options, without making an encoder a call."""


def _mask_path(name: str, colour: str, strokes: str, width: int) -> str:
    """One path of 1-tile-wide horizontal strokes along the middle of the rows; every move
    is relative, and each row ends back at x = 0 one row down."""
    return f'<path class="{name}" stroke="{colour}" d="M0 .5{strokes.replace(chr(10), f"m-{width} 1")}"/>'


def _strokes(codes: npt.NDArray[np.uint8], classes: npt.NDArray[np.int32]) -> str:
    """The commands of the runs of one class of tiles in the minimap's bytes ``codes``,
    newlines kept: the runs are found and looked up with whole-array NumPy operations, so
    the Python work is one join, however many runs (a regex scan and a lookup a run cost
    three to four times more)."""
    if not len(codes):
        return ""
    kinds = classes[codes]
    starts = np.concatenate((_FIRST, np.flatnonzero(kinds[1:] != kinds[:-1]) + 1))
    lengths = np.diff(starts, append=len(kinds))
    if lengths.max() >= _RUNS:
        raise ValueError(f"the minimap has a row longer than {MAX_SIDE} tiles")
    commands: list[str] = _COMMANDS[kinds[starts] + lengths].tolist()
    return "".join(commands)


def _corridor_path(corridors: list[dict[str, Any]]) -> str:
    """The corridor tiles, as strokes of runs along rows (relative moves)."""
    tiles = sorted({(y, x) for corridor in corridors for x, y in corridor["tiles"]})
    commands = ["M0 .5"]
    at_x = at_y = 0
    run_x = run_y = run_end = -1
    for y, x in (*tiles, (-1, -1)):
        if y == run_y and x == run_end:
            run_end += 1
            continue
        if run_y >= 0:
            commands.append(f"m{run_x - at_x} {run_y - at_y}h{run_end - run_x}")
            at_x, at_y = run_end, run_y
        run_x, run_y, run_end = x, y, x + 1
    return f'<path class="corridor" stroke="{CORRIDOR}" d="{"".join(commands)}"/>'


def _markers(scene_graph: dict[str, Any]) -> Iterator[str]:
    doors, items = scene_graph["doors"], scene_graph["items"]
    by_level: dict[int, list[dict[str, int]]] = {}
    bosses = []
    for enemy in scene_graph["enemies"]:
        if enemy["boss"]:
            bosses.append(enemy["pos"])
        else:
            by_level.setdefault(min(max(enemy["level"], 1), len(ENEMY_LEVELS)), []).append(enemy["pos"])
    yield '<g class="markers">'
    yield _group("door open", DOOR_OPEN, "m-door", [d["pos"] for d in doors if not d["locked"]])
    yield _group("door locked", DOOR_LOCKED, "m-locked", [d["pos"] for d in doors if d["locked"]])
    yield _group("key", KEY, "m-key", [i["pos"] for i in items if i["kind"] == "key"])
    yield _group("treasure", TREASURE, "m-treasure", [i["pos"] for i in items if i["kind"] == "treasure"])
    yield f'<g class="enemies" stroke="{INK}" stroke-width=".06">'
    for level in sorted(by_level):
        yield _group(f"enemy level-{level}", ENEMY_LEVELS[level - 1], "m-enemy", by_level[level])
    yield "</g>"
    yield _group("boss", BOSS, "m-boss", bosses, extra=' stroke="#fff" stroke-width=".08"')
    yield _group("entrance", ENTRANCE, "m-entrance", [scene_graph["entrance"]["pos"]])
    yield _group("exit", EXIT, "m-exit", [scene_graph["exit"]["pos"]])
    yield "</g>"


def _group(name: str, colour: str, marker: str, positions: list[dict[str, int]], extra: str = "") -> str:
    uses = "".join([f'<use href="#{marker}" x="{pos["x"]}" y="{pos["y"]}"/>' for pos in positions])
    return f'<g class="{name}" fill="{colour}"{extra}>{uses}</g>'


_LEGEND_ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("room floor", ROOM, "m-door"),
    ("corridor", CORRIDOR, "m-door"),
    ("wall", WALL, "m-door"),
    ("open door", DOOR_OPEN, "m-door"),
    ("locked door", DOOR_LOCKED, "m-locked"),
    ("key", KEY, "m-key"),
    ("treasure", TREASURE, "m-treasure"),
    ("entrance", ENTRANCE, "m-entrance"),
    ("exit", EXIT, "m-exit"),
    ("boss", BOSS, "m-boss"),
)
_DESIGN_ENTRIES: tuple[tuple[str, str, str], ...] = (
    ("critical path", CRITICAL_PATH, "m-path"),
    ("prefab room", PREFAB, "m-prefab"),
)


_STROKED = frozenset({"m-path", "m-prefab"})
"""Legend markers drawn as lines, in their entry's colour."""


def _half(twice: int) -> str:
    """``twice / 2`` as ``_num`` writes it (``7`` or ``3.5``), without formatting a float."""
    return f"{twice >> 1}.5" if twice & 1 else str(twice >> 1)


def _num(value: float) -> str:
    """A short decimal: integers without a point, others to at most 3 places."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text or "0"


def _legend_key(entries: tuple[tuple[str, str, str], ...]) -> str:
    """The legend's swatches and labels, in legend units (64 wide; the same for every level
    of a kind: designed or not)."""
    parts = []
    for index, (label, colour, marker) in enumerate(entries):
        x, y = 0.8 + (index % 4) * 16, 3.2 + (index // 4) * 2.4
        paint = "stroke" if marker in _STROKED else "fill"
        x_text, y_text = _num(x + 2.2), _num(y + 1.2)
        parts.append(
            f'<g class="legend-entry"><use href="#{marker}" transform="translate({_num(x)} {_num(y)}) '
            f'scale(1.5)" {paint}="{colour}"/><text x="{x_text}" y="{y_text}">{label}</text></g>'
        )
    parts.append('<g class="legend-scale"><text x=".8" y="11.6">enemy level</text>')
    for level, colour in enumerate(ENEMY_LEVELS, start=1):
        x = 10.4 + (level - 1) * 3
        parts.append(
            f'<use href="#m-enemy" transform="translate({_num(x)} 10.3) scale(1.8)" fill="{colour}"/>'
            f'<text x="{_num(x + 0.9)}" y="11.6" font-size=".9" text-anchor="middle" '
            f'fill="{INK if level < 7 else TEXT}">{level}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


_LEGEND_KEY = _legend_key(_LEGEND_ENTRIES)
_DESIGN_LEGEND_KEY = _legend_key(_LEGEND_ENTRIES + _DESIGN_ENTRIES)
