// Small DOM pieces. Server text only ever goes in through textContent or attributes,
// never as HTML.

export const $ = (id) => document.getElementById(id);

export function show(element, visible = true) {
  element.hidden = !visible;
}

export function setText(element, text) {
  element.textContent = text == null ? "" : String(text);
}

/** A copy of a <template>'s first element. */
export function fromTemplate(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text != null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function setBadge(badge, status) {
  badge.className = `badge badge-${status}`;
  badge.textContent = status;
}

export function formatDuration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

export function describeSpec(spec) {
  if (!spec) return "";
  const parts = [
    `seed ${spec.seed}`,
    `${spec.width}×${spec.height}`,
    `${spec.rooms} rooms`,
    `difficulty ${spec.difficulty}`,
    spec.theme,
    `loops ${spec.loops}`,
  ];
  const constraints = Object.keys(spec.constraints ?? {});
  if (constraints.length) parts.push(`constraints: ${constraints.join(", ")}`);
  const prefabs = Array.isArray(spec.prefabs) ? spec.prefabs : [];
  if (prefabs.length) parts.push(`prefabs: ${prefabs.map((p) => `${p.name} ×${p.count ?? 1}`).join(", ")}`);
  return parts.join(" · ");
}
