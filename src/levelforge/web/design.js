// The designer's controls of the form (CONTRACT §4.1): the constraints' ranges and pacing,
// and the prefab rooms' editor. Sent as the spec's `constraints` and `prefabs`, each left
// out when empty (so a spec without them stays as it always was); the server's 422 shown
// beside the field its path names (`constraints.locks.min`, `prefabs[0].map`, …).

import { $, fromTemplate, setText, show } from "./dom.js";

export const RANGES = ["critical_path_rooms", "locks", "enemies", "treasures"];
const PREFAB_PARTS = ["name", "count", "placement", "map"];
const MAX_PREFABS = 16;

const prefabItems = () => [...$("prefab-list").children];

/** A range input's value: a number, or null when left empty. */
function bound(input) {
  return input.value.trim() === "" ? null : input.valueAsNumber;
}

/** The map's rows as typed: line ends of any kind, trailing blanks and blank lines around it dropped. */
export function mapRows(text) {
  const rows = text.split(/\r\n|\r|\n/).map((row) => row.replace(/\s+$/, ""));
  while (rows.length && rows[0] === "") rows.shift();
  while (rows.length && rows[rows.length - 1] === "") rows.pop();
  return rows;
}

function readConstraints() {
  const constraints = {};
  for (const key of RANGES) {
    const range = {};
    for (const end of ["min", "max"]) {
      const value = bound($(`c-${key}-${end}`));
      if (value != null) range[end] = value;
    }
    if (Object.keys(range).length) constraints[key] = range;
  }
  if ($("c-pacing").value) constraints.pacing = $("c-pacing").value;
  return constraints;
}

function readPrefab(item) {
  const part = (name) => item.querySelector(`[data-part="${name}"]`);
  const prefab = { name: part("name").value.trim(), map: mapRows(part("map").value) };
  if (part("count").value.trim() !== "") prefab.count = part("count").valueAsNumber;
  prefab.placement = part("placement").value;
  return prefab;
}

/** `{constraints?, prefabs?}`: only what the designer set. */
export function readDesign() {
  const design = {};
  const constraints = readConstraints();
  if (Object.keys(constraints).length) design.constraints = constraints;
  const prefabs = prefabItems().map(readPrefab);
  if (prefabs.length) design.prefabs = prefabs;
  return design;
}

/** `prefabs.0.map` (pydantic's way) → `prefabs[0].map` (the contract's). */
export function normaliseField(field) {
  return String(field).replace(/\.(\d+)(?=\.|$)/g, "[$1]");
}

/** The path one level up: `prefabs[0].map` → `prefabs[0]` → `prefabs`; "" at the top. */
function parentOf(path) {
  const cut = Math.max(path.lastIndexOf("."), path.lastIndexOf("["));
  return cut > 0 ? path.slice(0, cut) : "";
}

const PREFAB_PATH = /^prefabs\[(\d+)\](?:\.([a-z_]+))?$/;

function prefabPart(path) {
  const match = PREFAB_PATH.exec(path);
  if (!match) return null;
  const item = prefabItems()[Number(match[1])];
  return item ? { item, part: match[2] ?? "" } : null;
}

function slotOf(path) {
  const prefab = prefabPart(path);
  if (prefab) return prefab.item.querySelector(`[data-error-slot="${prefab.part}"]`);
  return document.querySelector(`#spec-form [data-error-for="${CSS.escape(path)}"]`);
}

function inputOf(path) {
  const prefab = prefabPart(path);
  if (prefab) return prefab.part ? prefab.item.querySelector(`[data-part="${prefab.part}"]`) : null;
  return document.querySelector(`#spec-form [data-field="${CSS.escape(path)}"]`);
}

/**
 * Shows `message` beside the designer's field that `field` names, or beside the nearest
 * part of the form that holds it. Returns what to focus (the field, else its section),
 * or null when no part of the designer's controls holds that path.
 */
export function showDesignError(field, message) {
  const path = normaliseField(field);
  if (!/^(constraints|prefabs)\b/.test(path)) return null;
  let at = path;
  let slot = null;
  while (at && !(slot = slotOf(at))) at = parentOf(at);
  if (!slot) return null;
  let input = null;
  for (let up = path; up && !input; up = up === at ? "" : parentOf(up)) input = inputOf(up);
  setText(slot, slot.hidden || !slot.textContent ? message : `${slot.textContent} ${message}`);
  show(slot, true);
  if (input) input.setAttribute("aria-invalid", "true");
  const section = slot.closest("details");
  if (section) section.open = true;
  return input ?? section?.querySelector("summary") ?? null;
}

export function clearDesignErrors() {
  const form = $("spec-form");
  for (const slot of form.querySelectorAll("#constraints-section .field-error, #prefabs-section .field-error")) {
    setText(slot, "");
    show(slot, false);
  }
  for (const input of form.querySelectorAll("#constraints-section [aria-invalid], #prefabs-section [aria-invalid]")) {
    input.removeAttribute("aria-invalid");
  }
}

/** The map's size as typed, and whether its rows are even. */
function describeMap(item) {
  const rows = mapRows(item.querySelector('[data-part="map"]').value);
  const hint = item.querySelector(".prefab-size");
  if (!rows.length) {
    setText(hint, "Draw the room, its walls included.");
    return;
  }
  const widths = new Set(rows.map((row) => row.length));
  setText(
    hint,
    widths.size === 1
      ? `${rows.length} rows × ${rows[0].length} columns.`
      : `${rows.length} rows of uneven length (${[...widths].join(", ")}): rows must be equal.`,
  );
}

/** Numbers and labels after an item is added or removed: "Prefab 1 name", … */
function renumber() {
  const items = prefabItems();
  items.forEach((item, index) => {
    const number = index + 1;
    setText(item.querySelector(".prefab-number"), number);
    for (const part of PREFAB_PARTS) {
      const id = `prefab-${number}-${part}`;
      item.querySelector(`[data-part="${part}"]`).id = id;
      const label = item.querySelector(`label[data-for="${part}"]`);
      label.htmlFor = id;
      setText(label.querySelector(".prefab-label"), `Prefab ${number} `);
    }
    item.querySelector(".prefab-remove").setAttribute("aria-label", `Remove prefab ${number}`);
  });
  setText($("prefab-count"), items.length ? `(${items.length})` : "");
  $("prefab-add").disabled = items.length >= MAX_PREFABS;
}

function addPrefab() {
  const item = fromTemplate("prefab-template");
  item.querySelector(".prefab-remove").addEventListener("click", () => {
    item.remove();
    renumber();
    $("prefab-add").focus();
  });
  item.querySelector('[data-part="map"]').addEventListener("input", () => describeMap(item));
  $("prefab-list").append(item);
  renumber();
  describeMap(item);
  item.querySelector('[data-part="name"]').focus();
}

export function setUpDesign() {
  $("prefab-add").addEventListener("click", addPrefab);
  // the browser's own check of a field (a count of 0, a name in capitals) cannot point at
  // a field inside a folded section: unfold it first
  $("spec-form").addEventListener(
    "invalid",
    (event) => {
      const section = event.target.closest("details");
      if (section) section.open = true;
    },
    true,
  );
  renumber();
}
