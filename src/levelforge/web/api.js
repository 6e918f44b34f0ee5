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

export const artifactUrl = (id, name) => `${jobPath(id)}/artifacts/${name}`;
export const eventsUrl = (id) => `${jobPath(id)}/events`;

/** A call's outcome: `{ok, status, body}`; `status` 0 when the server did not answer. */
async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" }, ...options });
  } catch {
    return { ok: false, status: 0, body: { message: "The server did not answer." } };
  }
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
    headers: { "Content-Type": "application/json", Accept: "application/json" },
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
    const response = await fetch(artifactUrl(id, name));
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}
