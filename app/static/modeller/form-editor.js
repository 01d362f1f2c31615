// The JSON form editor: checks the JSON as you type, shows a live preview drawn by the server with
// the task pages' own macros (POST to the preview endpoint; nothing is saved), and saves with the
// draft's lock_version. Without JavaScript the same form posts and the server does all of it.
import {
  editorRoot, clearErrors, guardUnsaved, refreshProblemList, renderProblems, reportSave, saveContent, setStatus, showErrors,
} from "./editor-common.js";

const root = editorRoot();
const path = root.dataset.path;
const form = document.getElementById("app-json-form");
const textarea = document.getElementById("app-json");
const group = document.getElementById("app-json-group");
const message = document.getElementById("app-json-error");
const preview = document.getElementById("app-preview");
let saved = textarea.value;
let timer = null;
let sequence = 0;

function jsonError(text) {
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    const match = /position (\d+)/.exec(err.message);
    if (match) {
      const upto = text.slice(0, Number(match[1]));
      const line = upto.split("\n").length;
      const column = upto.length - upto.lastIndexOf("\n");
      return `This is not valid JSON: line ${line}, column ${column}: ${err.message}`;
    }
    return `This is not valid JSON: ${err.message}`;
  }
}

function showFieldError(text) {
  group.classList.toggle("govuk-form-group--error", Boolean(text));
  textarea.classList.toggle("govuk-textarea--error", Boolean(text));
  message.hidden = !text;
  message.querySelector(".app-error-text").textContent = text || "";
  if (text) textarea.setAttribute("aria-describedby", `${textarea.dataset.describedBy} app-json-error`.trim());
  else textarea.setAttribute("aria-describedby", textarea.dataset.describedBy);
}

async function refreshPreview() {
  if (!preview) return; // a table's examples have no form preview
  const mine = ++sequence;
  const body = new FormData();
  body.set("csrf_token", root.dataset.csrf);
  body.set("content", textarea.value);
  try {
    const response = await fetch(root.dataset.previewUrl, { method: "POST", body, credentials: "same-origin" });
    const html = await response.text();
    if (mine !== sequence) return; // a newer preview is on its way
    const doc = new DOMParser().parseFromString(html, "text/html");
    const fragment = doc.getElementById("app-preview-content");
    if (fragment) preview.replaceChildren(document.importNode(fragment, true));
    preview.dataset.state = response.ok ? "ok" : "error";
  } catch (err) {
    if (mine === sequence) preview.dataset.state = "error";
  }
}

function check() {
  const error = jsonError(textarea.value);
  showFieldError(error);
  if (!error) clearErrors();
  setStatus(textarea.value === saved ? "No unsaved changes." : "You have unsaved changes.");
  clearTimeout(timer);
  timer = setTimeout(refreshPreview, error ? 0 : 300);
}

textarea.addEventListener("input", check);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const content = textarea.value;
  const error = jsonError(content);
  if (error) {
    showFieldError(error);
    showErrors([{ text: error, href: "#app-json" }]);
    return;
  }
  setStatus("Saving…");
  const result = await saveContent(content);
  if (reportSave(result, { content, filename: path.split("/").pop() })) {
    saved = content;
    refreshProblemList((problems) => renderProblems(problems, { path }));
  }
});

guardUnsaved(() => textarea.value !== saved);
root.dataset.ready = "true";
refreshProblemList((problems) => renderProblems(problems, { path }));
