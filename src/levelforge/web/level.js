// A done job's level: the picture (zoomable), the minimap, the stats and the downloads.

import { artifactHref, artifactText, producedArtifacts } from "./api.js";
import { $, element, setText, show } from "./dom.js";
import { hideMarks, prefabRooms, showMarks } from "./marks.js";

const ZOOM_STEP = 1.25;
const ZOOM_MAX = 8;
let zoom = 1;
let blobUrls = []; // made for the level shown: revoked when it goes

function setZoom(value) {
  zoom = Math.min(ZOOM_MAX, Math.max(1, value));
  $("picture").style.width = `${zoom * 100}%`;
  setText($("zoom-level"), `${Math.round(zoom * 100)}%`);
}

export function setUpZoom() {
  $("zoom-in").addEventListener("click", () => setZoom(zoom * ZOOM_STEP));
  $("zoom-out").addEventListener("click", () => setZoom(zoom / ZOOM_STEP));
  $("zoom-reset").addEventListener("click", () => setZoom(1));
  $("preview-viewport").addEventListener(
    "wheel",
    (event) => {
      event.preventDefault();
      setZoom(event.deltaY < 0 ? zoom * ZOOM_STEP : zoom / ZOOM_STEP);
    },
    { passive: false },
  );
  $("preview-img").addEventListener("error", () => showPicture(null));
}

/** The picture from preview.svg in an <img> (its scripts never run), or the fallback note. */
function showPicture(src) {
  const img = $("preview-img");
  if (src) {
    setZoom(1);
    img.src = src;
  } else {
    img.removeAttribute("src");
    hideMarks();
  }
  show($("preview"), Boolean(src));
  show($("preview-missing"), !src);
  $("level").classList.toggle("with-picture", Boolean(src));
}

/** "shrine ×2, altar ×1": the prefab rooms by name, in the order they first appear. */
function describePrefabs(sceneGraph) {
  const counts = new Map();
  for (const { prefab } of prefabRooms(sceneGraph)) counts.set(prefab, (counts.get(prefab) ?? 0) + 1);
  return counts.size ? [...counts].map(([name, count]) => `${name} ×${count}`).join(", ") : null;
}

function showStats(sceneGraph, summary) {
  const stats = sceneGraph?.stats ?? {};
  const rows = [
    ["Rooms", stats.rooms ?? summary?.rooms],
    ["Doors", stats.doors ?? summary?.doors],
    ["Locks", stats.locks],
    ["Enemies", stats.enemies ?? summary?.enemies],
    ["Treasures", stats.treasures],
    ["Loops", stats.loops],
    ["Prefab rooms", describePrefabs(sceneGraph)],
    [
      "Critical path",
      stats.critical_path_rooms == null
        ? null
        : `${stats.critical_path_rooms} rooms, ${stats.critical_path_tiles} tiles`,
    ],
  ];
  const nodes = [];
  for (const [label, value] of rows) {
    if (value == null) continue;
    const group = element("div");
    group.dataset.stat = label.toLowerCase().replaceAll(" ", "-");
    group.append(element("dt", label), element("dd", value));
    nodes.push(group);
  }
  $("stats").replaceChildren(...nodes);
}

async function showDownloads(id, result, isCurrent) {
  const produced = producedArtifacts(result);
  const hrefs = await Promise.all(
    produced.map(([name, field]) => artifactHref(id, result, name, field, blobUrls)),
  );
  if (!isCurrent()) return;
  const items = produced.map(([name, , what], index) => {
    const link = element("a", name);
    if (hrefs[index]) link.href = hrefs[index];
    link.download = `${id}-${name}`;
    const item = element("li");
    item.append(link, element("span", ` ${what}`, "muted"));
    return item;
  });
  $("downloads").replaceChildren(...items);
}

async function pictureOf(id, result, produced) {
  if (!produced.has("preview.svg")) return null;
  return artifactHref(id, result, "preview.svg", "preview", blobUrls);
}

async function sceneGraphOf(id, result) {
  if (result.sceneGraph != null) return result.sceneGraph;
  const text = await artifactText(id, result, "scene-graph.json", "sceneGraph");
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

/** Everything of a done job's result; `isCurrent()` false once the user has moved on. */
export async function showLevel(id, result, isCurrent) {
  const produced = new Set(producedArtifacts(result).map(([name]) => name));
  const picture = await pictureOf(id, result, produced);
  if (!isCurrent()) return;
  showPicture(picture);
  await showDownloads(id, result, isCurrent);
  if (!isCurrent()) return;
  setText($("minimap"), typeof result.asciiMinimap === "string" ? result.asciiMinimap : "Loading…");
  showStats(result.sceneGraph, result.summary);
  if (picture && result.sceneGraph != null) showMarks(result.sceneGraph);
  show($("result"), true);
  if (typeof result.asciiMinimap !== "string") {
    const minimap = await artifactText(id, result, "minimap.txt", "asciiMinimap");
    if (isCurrent()) setText($("minimap"), minimap ?? "The minimap could not be loaded: download it below.");
  }
  if (result.sceneGraph == null) {
    const graph = await sceneGraphOf(id, result);
    if (!isCurrent()) return;
    showStats(graph, result.summary);
    if (picture && !$("preview").hidden) showMarks(graph);
  }
}

export function hideLevel() {
  for (const url of blobUrls) URL.revokeObjectURL(url);
  blobUrls = [];
  show($("result"), false);
  showPicture(null);
  hideMarks();
  $("stats").replaceChildren();
  $("downloads").replaceChildren();
  setText($("minimap"), "");
}
