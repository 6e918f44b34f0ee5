"""The SVG preview: well-formed, faithful to the level tile for tile and marker for
marker, with a legend, deterministic, compact, and escaping what it quotes."""

from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from levelforge.generation import generate_level
from levelforge.generation.export import EXPORTS, svg
from levelforge.generation.export.svg import ENEMY_LEVELS, preview_svg

from .strategies import THEMES, fitting_specs

SVG = "{http://www.w3.org/2000/svg}"
FLOOR_CHARS = frozenset(".@>k$eB")
PATH_STEP = re.compile(r"([Mm])(-?[\d.]+) (-?[\d.]+)|h(\d+)")
Tile = tuple[int, int]


def picture(spec: dict[str, Any]) -> tuple[dict[str, Any], str, ET.Element]:
    level = generate_level(spec)
    _, make_svg = EXPORTS["preview.svg"]
    return level.scene_graph, level.minimap, ET.fromstring(make_svg(level.scene_graph, level.minimap))


def by_class(root: ET.Element, name: str, tag: str = "g") -> ET.Element:
    (found,) = [el for el in root.iter(SVG + tag) if el.get("class") == name]
    return found


def positions(group: ET.Element) -> list[Tile]:
    return [(int(use.get("x", "")), int(use.get("y", ""))) for use in group.iter(SVG + "use")]


def tiles_of_path(d: str) -> set[Tile]:
    """The tiles a path of 1-tile-wide horizontal strokes along row middles covers."""
    assert PATH_STEP.sub("", d) == "", "only M/m moves and h strokes"
    x = y = 0.0
    covered: set[Tile] = set()
    for move, dx, dy, length in PATH_STEP.findall(d):
        if move:
            x, y = (float(dx), float(dy)) if move == "M" else (x + float(dx), y + float(dy))
            continue
        assert y % 1 == 0.5, "strokes run along the middle of a row"
        covered.update((int(x) + i, int(y)) for i in range(int(length)))
        x += int(length)
    return covered


def minimap_tiles(minimap: str, chars: frozenset[str]) -> set[Tile]:
    rows = minimap.split("\n")[:-1]
    return {(x, y) for y, row in enumerate(rows) for x, char in enumerate(row) if char in chars}


def pos(thing: dict[str, Any]) -> Tile:
    return thing["pos"]["x"], thing["pos"]["y"]


def assert_picture_matches(graph: dict[str, Any], minimap: str, root: ET.Element) -> None:
    assert root.tag == SVG + "svg"
    width, height = graph["size"]["w"], graph["size"]["h"]
    _, _, view_w, view_h = map(float, root.get("viewBox", "").split())
    assert view_w >= width
    assert view_h > height

    walls = tiles_of_path(by_class(root, "wall", "path").get("d", ""))
    floors = tiles_of_path(by_class(root, "room", "path").get("d", ""))
    corridors = tiles_of_path(by_class(root, "corridor", "path").get("d", ""))
    assert walls == minimap_tiles(minimap, frozenset("#+L") | FLOOR_CHARS)
    assert floors == minimap_tiles(minimap, FLOOR_CHARS)
    assert corridors == {(x, y) for corridor in graph["corridors"] for x, y in corridor["tiles"]}

    markers = by_class(root, "markers")
    doors, items = graph["doors"], graph["items"]
    assert positions(by_class(markers, "door open")) == [pos(d) for d in doors if not d["locked"]]
    assert positions(by_class(markers, "door locked")) == [pos(d) for d in doors if d["locked"]]
    assert by_class(markers, "door open").get("fill") != by_class(markers, "door locked").get("fill")
    assert positions(by_class(markers, "key")) == [pos(i) for i in items if i["kind"] == "key"]
    assert positions(by_class(markers, "treasure")) == [pos(i) for i in items if i["kind"] == "treasure"]
    assert positions(by_class(markers, "boss")) == [pos(e) for e in graph["enemies"] if e["boss"]]
    assert positions(by_class(markers, "entrance")) == [pos(graph["entrance"])]
    assert positions(by_class(markers, "exit")) == [pos(graph["exit"])]
    enemies = by_class(markers, "enemies")
    drawn: dict[Tile, int] = {}
    for group in enemies.iter(SVG + "g"):
        if group is enemies:
            continue
        level = int(group.get("class", "").removeprefix("enemy level-"))
        assert group.get("fill") == ENEMY_LEVELS[level - 1]
        drawn.update(dict.fromkeys(positions(group), level))
    expected = {pos(e): min(e["level"], len(ENEMY_LEVELS)) for e in graph["enemies"] if not e["boss"]}
    assert drawn == expected
    assert len(positions(enemies)) == len(expected)
    designs = [el for el in root.iter(SVG + "g") if el.get("class") == "design"]
    if "constraints" in graph["spec"] or "prefabs" in graph["spec"]:
        assert_design_matches(graph, designs[0])
    else:
        assert designs == []


def centre(room: dict[str, Any]) -> tuple[float, float]:
    bounds = room["bounds"]
    return bounds["x"] + bounds["w"] / 2, bounds["y"] + bounds["h"] / 2


def assert_design_matches(graph: dict[str, Any], design: ET.Element) -> None:
    """The critical path is a line through its rooms' centres, entrance to exit; each room
    tagged ``prefab:NAME`` is outlined on its wall ring, named."""
    rooms = {room["id"]: room for room in graph["rooms"]}
    line = by_class(design, "critical-path", "path").get("d", "")
    assert line.startswith("M")
    points = [tuple(map(float, point.split())) for point in line[1:].split("L")]
    assert points == [centre(rooms[room_id]) for room_id in graph["critical_path"]]
    outlines = [
        (
            rect.get("data-room"),
            rect.get("data-prefab"),
            *(float(rect.get(a, "")) for a in ("x", "y", "width", "height")),
        )
        for rect in by_class(design, "prefab-rooms").iter(SVG + "rect")
    ]
    assert outlines == [
        (room["id"], tag.removeprefix("prefab:"), b["x"] - 0.5, b["y"] - 0.5, b["w"] + 1, b["h"] + 1)
        for room in graph["rooms"]
        for b in [room["bounds"]]
        for tag in room["tags"]
        if tag.startswith("prefab:")
    ]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(
    ("width", "height", "rooms"),
    [(16, 16, 4), (16, 16, 1), (64, 40, 12), (17, 90, 20), (160, 100, 60)],
)
def test_the_picture_shows_every_tile_and_thing_of_the_level(
    theme: str, width: int, height: int, rooms: int
) -> None:
    """Given a level of each theme and size
    When its preview.svg is parsed as XML
    Then walls, floors and corridors cover exactly the minimap's tiles, and there is one
    marker per door (open and locked apart), key, treasure, enemy (coloured by level),
    boss, entrance and exit, on its tile."""
    spec = {"seed": 21, "width": width, "height": height, "rooms": rooms, "theme": theme, "difficulty": 9}

    assert_picture_matches(*picture(spec))


@settings(max_examples=15, deadline=None)
@given(fitting_specs(max_side=80))
def test_every_fitting_spec_gives_a_faithful_picture(spec: dict[str, Any]) -> None:
    """Given any spec that fits
    When its preview.svg is parsed
    Then it is well-formed and shows the level's tiles and markers."""
    assert_picture_matches(*picture(spec))


def test_the_picture_has_a_title_and_a_legend_of_everything_it_draws() -> None:
    """Given a level
    When its preview.svg is parsed
    Then its title names the seed and size, and its legend names every kind of thing
    with an enemy level scale of every colour."""
    graph, _, root = picture({"seed": 8, "width": 70, "height": 50, "rooms": 20, "theme": "cave"})

    title = root.find(SVG + "title")
    assert title is not None
    assert "seed 8" in (title.text or "")
    assert "70x50" in (title.text or "")
    legend = by_class(root, "legend")
    labels = {text.text for text in legend.iter(SVG + "text")}
    expected = {"room floor", "corridor", "wall", "open door", "locked door", "key", "treasure"}
    assert expected | {"entrance", "exit", "boss", "enemy level"} <= labels
    scale = by_class(legend, "legend-scale")
    assert [use.get("fill") for use in scale.iter(SVG + "use")] == list(ENEMY_LEVELS)
    assert root.find(SVG + "metadata") is not None
    assert graph["schema"] in (root.findtext(SVG + "metadata") or "")


SHRINE = ["##+##", "#...#", "+.$.#", "#...#", "#####"]


def designed(graph: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    """A copy of ``graph`` as a level with prefabs is (CONTRACT §4.1): its spec holds
    ``prefabs`` and its rooms ``tags`` (id → prefab name) are tagged ``prefab:NAME``."""
    graph = copy.deepcopy(graph)
    names = sorted(set(tags.values()))
    graph["spec"]["prefabs"] = [
        {"name": name, "map": SHRINE, "count": 1, "placement": "any"} for name in names
    ]
    for room in graph["rooms"]:
        if room["id"] in tags:
            room["tags"].append(f"prefab:{tags[room['id']]}")
    return graph


def test_prefab_rooms_are_outlined_and_named_over_the_critical_path() -> None:
    """Given a level with prefabs whose scene graph tags a room off the critical path
    ``prefab:shrine`` and one on it ``prefab:altar``
    When its preview.svg is made
    Then both rooms are outlined on their wall rings with their names, the critical path
    runs through its rooms' centres, the legend names both marks, and the rest of the
    picture is the undesigned level's."""
    level = generate_level({"seed": 31, "width": 60, "height": 40, "rooms": 12})
    path = level.scene_graph["critical_path"]
    side = next(room["id"] for room in level.scene_graph["rooms"] if room["id"] not in path)
    tags = {side: "shrine", path[1]: "altar"}
    graph = designed(level.scene_graph, tags)

    text = preview_svg(graph, level.minimap)

    root = ET.fromstring(text)
    assert_picture_matches(graph, level.minimap, root)
    named = {
        rect.get("data-room"): rect.get("data-prefab")
        for rect in root.iter(SVG + "rect")
        if rect.get("data-room")
    }
    assert named == tags
    labels = {t.text for t in by_class(root, "legend").iter(SVG + "text")}
    assert {"critical path", "prefab room"} <= labels
    plain = ET.fromstring(preview_svg(level.scene_graph, level.minimap))
    for name in ("wall", "room", "corridor"):
        assert by_class(root, name, "path").get("d") == by_class(plain, name, "path").get("d")
    assert ET.tostring(by_class(root, "markers")) == ET.tostring(by_class(plain, "markers"))
    assert not {"critical path", "prefab room"} & {
        t.text for t in by_class(plain, "legend").iter(SVG + "text")
    }


def test_the_same_level_gives_the_same_bytes() -> None:
    """Given one spec
    When preview.svg is made twice, from two generations
    Then the bytes are identical."""
    spec = {"seed": 77, "width": 90, "height": 70, "rooms": 30, "theme": "crypt"}
    _, make_svg = EXPORTS["preview.svg"]
    first, second = generate_level(spec), generate_level(spec)

    assert make_svg(first.scene_graph, first.minimap) == make_svg(second.scene_graph, second.minimap)


def test_the_largest_level_stays_compact() -> None:
    """Given the largest spec (512x512, 2,000 rooms)
    When its preview.svg is made
    Then it is well-formed and well under 1.5 MB."""
    level = generate_level({"seed": 2, "width": 512, "height": 512, "rooms": 2000, "difficulty": 10})
    _, make_svg = EXPORTS["preview.svg"]

    data = make_svg(level.scene_graph, level.minimap)

    assert len(data) < 1_000_000
    assert_picture_matches(level.scene_graph, level.minimap, ET.fromstring(data))


HOSTILE = "</title><script>alert('x&y')</script>\x00\"<!--"


def test_text_from_the_scene_graph_is_escaped() -> None:
    """Given a scene graph whose spec holds markup, quotes and a NUL character
    When its preview.svg is made
    Then it is still well-formed XML, no element is injected, and the text reads back
    as written (the NUL, which XML cannot hold, as U+FFFD)."""
    level = generate_level({"seed": 1})
    graph = copy.deepcopy(level.scene_graph)
    graph["spec"]["theme"] = HOSTILE
    graph["spec"]["note"] = HOSTILE

    root = ET.fromstring(preview_svg(graph, level.minimap))

    assert not [el for el in root.iter() if el.tag.endswith("script")]
    readable = HOSTILE.replace("\x00", "\ufffd")
    assert readable in (root.findtext(SVG + "title") or "")
    metadata = json.loads(root.findtext(SVG + "metadata") or "")
    assert metadata["spec"]["note"] == HOSTILE


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=" #.+L@>k$eB", min_size=1, max_size=40), min_size=1, max_size=12),
)
def test_the_strokes_of_a_class_are_its_runs_row_by_row(rows: list[str]) -> None:
    """Given any rows of minimap characters
    When the strokes of the wall and floor classes are worked out (whole-array NumPy)
    Then they are the runs a regex finds, one command a run, newlines kept."""
    minimap = "".join(row + "\n" for row in rows)
    codes = np.frombuffer(minimap.encode(), dtype=np.uint8)

    for drawn, classes in (("#.+L@>k$eB", svg._WALL_CLASSES), (".@>k$eB", svg._FLOOR_CLASSES)):
        mask = "".join("x" if char in drawn else char if char == "\n" else " " for char in minimap)
        runs = re.findall(r"x+| +|\n", mask)
        expected = "".join(
            run if run == "\n" else f"h{len(run)}" if run[0] == "x" else f"m{len(run)} 0" for run in runs
        )
        assert svg._strokes(codes, classes) == expected


def test_a_minimap_row_longer_than_the_largest_map_is_refused() -> None:
    """Given a minimap row of 513 tiles (no map is wider than 512)
    When its strokes are worked out
    Then ValueError names the minimap rather than drawing a wrong picture."""
    codes = np.frombuffer(("." * 513 + "\n").encode(), dtype=np.uint8)

    with pytest.raises(ValueError, match="minimap"):
        svg._strokes(codes, svg._FLOOR_CLASSES)


def _corridor_path_reference(tiles: list[list[int]]) -> str:
    """The corridor strokes worked out tile by tile, the plain way."""
    commands, at_x, at_y = ["M0 .5"], 0, 0
    ordered = sorted({(y, x) for x, y in tiles})
    i = 0
    while i < len(ordered):
        y, x = ordered[i]
        end = x + 1
        while i + 1 < len(ordered) and ordered[i + 1] == (y, end):
            i, end = i + 1, end + 1
        commands.append(f"m{x - at_x} {y - at_y}h{end - x}")
        at_x, at_y, i = end, y, i + 1
    return "".join(commands)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 600), min_size=2, max_size=2), max_size=60))
def test_corridor_strokes_cover_every_tile_once_row_by_row(tiles: list[list[int]]) -> None:
    """Given any corridor tiles on a map (repeats, any order)
    When the corridor path is written
    Then its commands are those worked out tile by tile."""
    path = svg._corridor_path([{"tiles": tiles[: len(tiles) // 2]}, {"tiles": tiles[len(tiles) // 2 :]}])

    assert path == f'<path class="corridor" stroke="{svg.CORRIDOR}" d="{_corridor_path_reference(tiles)}"/>'
