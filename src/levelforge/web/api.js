// The Orchestrator's public API (CONTRACT §2), as the viewer calls it.

/** The artifacts of CONTRACT §5: name → field of the job's result. */
export const ARTIFACTS = [
  ["scene-graph.json", "sceneGraph", "the scene graph (JSON)"],
  ["minimap.txt", "asciiMinimap", "the ASCII minimap"],
  ["tiled.json", "tiled", "a Tiled map (JSON)"],
  ["preview.svg", "preview", "the picture (SVG)"],
];

export const TERMINAL = new Set(["done", "failed"]);

const jobPath = (id) => `/jobs/${encodeURIComponent(id)}`;
const KEY_STORAGE = "levelforge.apiKey";

/** The API key entered in this tab ("" when none): kept in sessionStorage, sent as a bearer. */
export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function setApiKey(key) {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage refused (private mode): the key is simply not kept
  }
}

/** `headers` plus `Authorization: Bearer <key>` when a key was entered. */
export function withKey(headers = {}) {
  const key = apiKey();
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

/** Tell the page that the server wants a (valid) API key. */
export function reportUnauthorized() {
  window.dispatchEvent(new Event("levelforge:unauthorized"));
}

export const artifactUrl = (id, name) => `${jobPath(id)}/artifacts/${name}`;
export const eventsUrl = (id) => `${jobPath(id)}/events`;

/** A call's outcome: `{ok, status, body}`; `status` 0 when the server did not answer. */
async function call(path, options = {}) {
  const { headers = {}, ...rest } = options;
  let response;
  try {
    response = await fetch(path, { ...rest, headers: withKey({ Accept: "application/json", ...headers }) });
  } catch {
    return { ok: false, status: 0, body: { message: "The server did not answer." } };
  }
  if (response.status === 401) reportUnauthorized();
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = { message: `The server answered ${response.status}.` };
  }
  return { ok: response.ok, status: response.status, body };
}

export function createJob(spec) {
  return call("/jobs", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(spec),
  });
}

export const getJob = (id) => call(jobPath(id));

export const listJobs = (limit = 10) => call(`/jobs?limit=${limit}`);

/** The names of the artifacts this result holds (inline or stored). */
export function producedArtifacts(result) {
  if (!result) return [];
  return ARTIFACTS.filter(([, field]) => result[field] != null || result[`${field}Key`] != null);
}

/** An artifact's text: the inline copy when there is one, else downloaded (null on failure). */
export async function artifactText(id, result, name, field) {
  const inline = result[field];
  if (typeof inline === "string") return inline;
  if (inline != null) return JSON.stringify(inline);
  try {
    const response = await fetch(artifactUrl(id, name), { headers: withKey() });
    if (response.status === 401) reportUnauthorized();
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

/**
 * Where the page can fetch an artifact from without sending headers (an <img>, a download
 * link): without a key, its route; with one, its presigned URL, or a blob: URL of its inline
 * copy or of its bytes downloaded with the key (`made` collects those, to be revoked).
 */
export async function artifactHref(id, result, name, field, made) {
  if (!apiKey()) return artifactUrl(id, name);
  const presigned = result[`${field}Url`];
  if (typeof presigned === "string") return presigned;
  const type = name.endsWith(".svg") ? "image/svg+xml" : name.endsWith(".json") ? "application/json" : "text/plain";
  const text = await artifactText(id, result, name, field);
  if (text == null) return null;
  const url = URL.createObjectURL(new Blob([text], { type }));
  made.push(url);
  return url;
}
