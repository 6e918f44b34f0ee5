// The viewer: routes of the URL's fragment to views. `#/` the form and the recent jobs,
// `#/jobs/{id}` one job (a link that can be shared and reloaded).

import { $, show } from "./dom.js";
import { setUpForm } from "./form.js";
import { closeJob, openJob } from "./job.js";
import { setUpApiKey } from "./key.js";
import { setUpZoom } from "./level.js";
import { setUpRecentJobs, showRecentJobs } from "./recent.js";

const JOB_ROUTE = /^#\/jobs\/([^/]+)$/;
const VIEWS = ["home-view", "job-view", "not-found-view", "loading"];

function hideAll() {
  for (const id of VIEWS) show($(id), false);
}

function route() {
  hideAll();
  const match = JOB_ROUTE.exec(location.hash);
  if (match) {
    let id;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      id = match[1];
    }
    openJob(id);
    return;
  }
  closeJob();
  document.title = "levelforge";
  show($("home-view"), true);
  showRecentJobs();
}

function start() {
  setUpApiKey(route);
  setUpForm((id) => {
    location.hash = `#/jobs/${encodeURIComponent(id)}`;
  });
  setUpRecentJobs();
  setUpZoom();
  window.addEventListener("hashchange", route);
  route();
}

start();
