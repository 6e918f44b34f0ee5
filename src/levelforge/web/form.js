// The spec form (CONTRACT §4): limits as input attributes, the server's 422 shown beside
// the field it names; the designer's controls (§4.1) in design.js.

import { createJob } from "./api.js";
import { clearDesignErrors, readDesign, setUpDesign, showDesignError } from "./design.js";
import { $, setText, show } from "./dom.js";

const FIELDS = ["seed", "width", "height", "rooms", "difficulty", "theme", "loops"];
const TILES_PER_ROOM = 64;

/** The spec the form describes; an empty seed is left out (the server draws one), and so
 * are constraints and prefabs when the designer set none. */
function readSpec(form) {
  const spec = {};
  for (const name of FIELDS) {
    const input = form.elements.namedItem(name);
    if (input.tagName === "SELECT") {
      spec[name] = input.value;
    } else if (input.value.trim() !== "") {
      spec[name] = input.valueAsNumber;
    }
  }
  return { ...spec, ...readDesign() };
}

function clearErrors(form) {
  for (const name of FIELDS) {
    form.elements.namedItem(name).removeAttribute("aria-invalid");
    const slot = $(`error-${name}`);
    setText(slot, "");
    show(slot, false);
  }
  clearDesignErrors();
  show($("form-error"), false);
}

/** Each of the server's `details[]` beside its field; the rest above the button. */
function showErrors(form, body) {
  const details = Array.isArray(body?.details) ? body.details : [];
  const general = [];
  let first = null;
  for (const detail of details) {
    const slot = FIELDS.includes(detail?.field) ? $(`error-${detail.field}`) : null;
    if (!slot) {
      const shown = detail?.field == null ? null : showDesignError(detail.field, detail.message);
      if (shown === null) general.push(detail?.message);
      first = first ?? shown;
      continue;
    }
    const input = form.elements.namedItem(detail.field);
    input.setAttribute("aria-invalid", "true");
    setText(slot, detail.message);
    show(slot, true);
    first = first ?? input;
  }
  if (!first || general.length) {
    setText($("form-error"), general.filter(Boolean).join(" ") || body?.message || "The job was refused.");
    show($("form-error"), true);
  }
  (first ?? $("submit")).focus();
}

/** The rooms hint says how many rooms fit the size typed so far. */
function updateRoomsHint(form) {
  const width = form.elements.namedItem("width").valueAsNumber;
  const height = form.elements.namedItem("height").valueAsNumber;
  const hint = $("hint-rooms");
  if (Number.isInteger(width) && Number.isInteger(height)) {
    const most = Math.floor((width * height) / TILES_PER_ROOM);
    setText(hint, `Exactly this many, 1 to 2000; at most ${most} fit in ${width}×${height} (64 tiles a room).`);
  }
}

export function setUpForm(onCreated) {
  const form = $("spec-form");
  const button = $("submit");
  setUpDesign();
  form.addEventListener("input", () => updateRoomsHint(form));
  updateRoomsHint(form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    button.disabled = true;
    try {
      const reply = await createJob(readSpec(form));
      if (reply.ok) {
        onCreated(reply.body.id);
      } else {
        showErrors(form, reply.body);
      }
    } finally {
      button.disabled = false;
    }
  });
}
