// One job's view (/#/jobs/{id}): its steps arriving live over server-sent events (read
// with fetch, so that they carry the API key), then its level or its error.

import { eventsUrl, getJob, TERMINAL } from "./api.js";
import { $, describeSpec, formatDuration, fromTemplate, setBadge, setText, show } from "./dom.js";
import { openEventStream } from "./events.js";
import { hideLevel, showLevel } from "./level.js";

const RELOAD_AFTER_MS = 2000;
let source = null;
let shownSteps = 0;
let viewing = 0; // bumped on every navigation: late answers for an older view are dropped

function stopStream() {
  if (source) source.close();
  source = null;
}

function stepItem(step) {
  const item = fromTemplate("step-template");
  item.dataset.step = step.name;
  item.classList.toggle("step-error", step.status === "error");
  setText(item.querySelector(".step-name"), step.name);
  setText(item.querySelector(".step-duration"), formatDuration(step.durationMs));
  setText(item.querySelector(".step-summary"), step.summary);
  return item;
}

function addStep(step) {
  $("steps").append(stepItem(step));
  shownSteps += 1;
  const total = [...$("steps").children].length;
  setText($("steps-total"), `(${total})`);
  show($("steps-waiting"), false);
}

function showStatus(status) {
  setBadge($("job-status"), status);
  show($("steps-waiting"), status === "queued" && shownSteps === 0);
}

function showError(error) {
  show($("job-error"), Boolean(error));
  setText($("job-error-message"), error?.message);
  setText($("job-error-code"), error?.code ? `code: ${error.code}` : "");
}

/** The whole job as GET /jobs/{id} gives it. */
function showJob(job, isCurrent) {
  setText($("job-id"), job.id);
  setText($("job-spec"), describeSpec(job.spec));
  $("steps").replaceChildren();
  shownSteps = 0;
  setText($("steps-total"), "");
  job.steps.forEach(addStep);
  showStatus(job.status);
  showError(job.status === "failed" ? job.error : null);
  if (job.status === "done" && job.result) {
    showLevel(job.id, job.result, isCurrent);
  } else {
    hideLevel();
  }
}

/** Steps and status changes as they happen; the finished job read again at the end. */
function follow(id, isCurrent) {
  source = openEventStream(eventsUrl(id), {
    onEvent(type, data, lastEventId) {
      if (type === "step") {
        const position = Number(lastEventId);
        if (position > shownSteps) addStep(JSON.parse(data));
        return;
      }
      if (type !== "status") return;
      const { status } = JSON.parse(data);
      showStatus(status);
      if (TERMINAL.has(status)) {
        stopStream();
        load(id, isCurrent);
      }
    },
    onEnd() {
      stopStream();
      setTimeout(() => isCurrent() && load(id, isCurrent), RELOAD_AFTER_MS);
    },
  });
}

async function load(id, isCurrent) {
  const reply = await getJob(id);
  if (!isCurrent()) return;
  if (reply.status === 404) {
    showNotFound(id);
    return;
  }
  show($("job-load-error"), !reply.ok);
  if (!reply.ok) {
    setText($("job-load-error"), `Could not load the job: ${reply.body?.message ?? reply.status}`);
    setTimeout(() => isCurrent() && load(id, isCurrent), RELOAD_AFTER_MS);
    return;
  }
  showJob(reply.body, isCurrent);
  if (!TERMINAL.has(reply.body.status) && !source) follow(id, isCurrent);
}

function showNotFound(id) {
  stopStream();
  setText($("not-found-id"), id);
  show($("job-view"), false);
  show($("not-found-view"), true);
  document.title = "Job not found · levelforge";
}

export function openJob(id) {
  stopStream();
  const ticket = ++viewing;
  const isCurrent = () => ticket === viewing;
  setText($("job-id"), id);
  setText($("job-spec"), "");
  $("job-status").className = "badge";
  setText($("job-status"), "");
  $("steps").replaceChildren();
  showError(null);
  hideLevel();
  show($("job-load-error"), false);
  show($("job-view"), true);
  document.title = `Job ${id} · levelforge`;
  return load(id, isCurrent);
}

export function closeJob() {
  viewing += 1;
  stopStream();
}
