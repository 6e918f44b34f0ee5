// The API key of this tab: asked for when the server answers 401, kept in sessionStorage
// (never in localStorage or the URL), sent by every call as `Authorization: Bearer <key>`.

import { apiKey, setApiKey } from "./api.js";
import { $, show } from "./dom.js";

/** Shows the key form once a key is needed or set; `onChange()` after a key is entered. */
export function setUpApiKey(onChange) {
  const form = $("key-form");
  const input = $("api-key");
  input.value = apiKey();
  show(form, Boolean(apiKey()));
  window.addEventListener("levelforge:unauthorized", () => {
    show(form, true);
    show($("key-needed"), true);
    if (!input.value) input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey(input.value.trim());
    show($("key-needed"), false);
    onChange();
  });
}
