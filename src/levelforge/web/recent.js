// The list of recent jobs (GET /jobs), newest first.

import { listJobs } from "./api.js";
import { $, describeSpec, fromTemplate, setBadge, setText, show } from "./dom.js";

function recentItem(job) {
  const item = fromTemplate("recent-template");
  const link = item.querySelector(".recent-link");
  link.href = `#/jobs/${encodeURIComponent(job.id)}`;
  setText(link.querySelector(".job-id"), job.id);
  setBadge(item.querySelector(".badge"), job.status);
  const spec = job.spec ?? {};
  setText(item.querySelector(".recent-spec"), `${spec.width}×${spec.height}, ${spec.rooms} rooms, ${spec.theme}`);
  item.querySelector(".recent-spec").title = describeSpec(spec);
  const time = item.querySelector("time");
  time.dateTime = job.createdAt;
  setText(time, new Date(job.createdAt).toLocaleString());
  return item;
}

export async function showRecentJobs() {
  const list = $("recent-jobs");
  const reply = await listJobs();
  show($("recent-error"), !reply.ok);
  if (!reply.ok) {
    setText($("recent-error"), `Could not list the jobs: ${reply.body?.message ?? reply.status}`);
    return;
  }
  const jobs = reply.body.jobs ?? [];
  list.replaceChildren(...jobs.map(recentItem));
  show($("recent-empty"), jobs.length === 0);
}

export function setUpRecentJobs() {
  $("recent-refresh").addEventListener("click", () => showRecentJobs());
}
