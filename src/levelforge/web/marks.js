// The designer's marks over the picture (CONTRACT §4.1): the critical path, a dashed line
// through the centres of its rooms from the entrance's to the exit's, and the prefab rooms
// (tagged `prefab:NAME`) outlined on their wall rings; drawn from the scene graph in an
// SVG laid over the <img>, in the picture's own units (one a tile).
//
// A designed level's preview.svg (its spec holds `constraints` or `prefabs`) draws the same
// marks itself, so the overlay then stays empty; the legend below the picture names them
// either way.

import { $, show } from "./dom.js";

const SVG_NS = "http://www.w3.org/2000/svg";
// as generation/export/svg.py lays the picture out: the map at the top left, at least
// MIN_PICTURE_TILES wide, above a legend LEGEND_UNITS_HIGH of LEGEND_UNITS_WIDE units high
export const MIN_PICTURE_TILES = 48;
export const LEGEND_UNITS_WIDE = 64;
export const LEGEND_UNITS_HIGH = 13;
const PREFAB_TAG = "prefab:";

function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/** Whether the picture of this scene graph's level draws the marks itself. */
export function isDesigned(spec) {
  return spec != null && ("constraints" in spec || "prefabs" in spec);
}

/** The prefab rooms of a scene graph: `[{room, prefab, bounds}]`, in room order. */
export function prefabRooms(graph) {
  const found = [];
  for (const room of Array.isArray(graph?.rooms) ? graph.rooms : []) {
    for (const tag of Array.isArray(room.tags) ? room.tags : []) {
      if (typeof tag === "string" && tag.startsWith(PREFAB_TAG)) {
        found.push({ room: room.id, prefab: tag.slice(PREFAB_TAG.length), bounds: room.bounds });
      }
    }
  }
  return found;
}

function criticalPathLine(graph) {
  const rooms = new Map((graph.rooms ?? []).map((room) => [room.id, room.bounds]));
  const points = [];
  for (const id of Array.isArray(graph.critical_path) ? graph.critical_path : []) {
    const b = rooms.get(id);
    if (b) points.push(`${b.x + b.w / 2} ${b.y + b.h / 2}`);
  }
  if (!points.length) return null;
  return svgElement("path", { class: "critical-path", d: `M${points.join("L")}` });
}

function prefabOutlines(graph) {
  const group = svgElement("g", { class: "prefab-rooms" });
  for (const { room, prefab, bounds: b } of prefabRooms(graph)) {
    const rect = svgElement("rect", { x: b.x - 0.5, y: b.y - 0.5, width: b.w + 1, height: b.h + 1 });
    rect.dataset.room = room;
    rect.dataset.prefab = prefab;
    const title = svgElement("title", {});
    title.textContent = `prefab ${prefab} (${room})`;
    rect.append(title);
    group.append(rect);
  }
  return group;
}

/** The overlay and the legend for a level's scene graph (null: none, hidden). */
export function showMarks(graph) {
  const overlay = $("marks");
  overlay.replaceChildren();
  const usable = graph?.size && Array.isArray(graph.rooms);
  show($("marks-legend"), Boolean(usable));
  if (!usable) return;
  const width = Math.max(graph.size.w, MIN_PICTURE_TILES);
  const height = graph.size.h + (LEGEND_UNITS_HIGH * width) / LEGEND_UNITS_WIDE;
  overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const prefabs = prefabRooms(graph);
  show($("legend-prefab"), prefabs.length > 0);
  overlay.dataset.drawn = isDesigned(graph.spec) ? "by-picture" : "overlay";
  if (isDesigned(graph.spec)) return;
  const line = criticalPathLine(graph);
  overlay.append(prefabOutlines(graph), ...(line ? [line] : []));
}

export function hideMarks() {
  $("marks").replaceChildren();
  delete $("marks").dataset.drawn;
  show($("marks-legend"), false);
}
