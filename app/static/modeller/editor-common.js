// Shared by the three editors: saving with the draft's lock_version, the GOV.UK error summary,
// the status line, the draft's problem list. Plain DOM; every text goes in with textContent.

export function editorRoot() {
  return document.getElementById("app-editor");
}

export function setStatus(text) {
  const status = document.getElementById("app-editor-status");
  if (status) status.textContent = text;
}

// Show messages in the page's GOV.UK error summary and move focus to it (as the task pages do).
export function showErrors(messages, { title = "There is a problem", focus = true } = {}) {
  const summary = document.getElementById("app-editor-errors");
  if (!summary) return;
  summary.querySelector(".govuk-error-summary__title").textContent = title;
  const list = summary.querySelector(".govuk-error-summary__list");
  list.replaceChildren();
  for (const message of messages) {
    const item = document.createElement("li");
    if (typeof message === "object" && message.href) {
      const link = document.createElement("a");
      link.href = message.href;
      link.textContent = message.text;
      item.append(link);
    } else {
      item.textContent = typeof message === "object" ? message.text : message;
    }
    list.append(item);
  }
  summary.hidden = messages.length === 0;
  if (messages.length && focus) summary.focus();
}

export function clearErrors() {
  showErrors([]);
}

// Offer the unsaved text as a file, so a conflict never loses work.
export function offerDownload(text, filename) {
  const link = document.getElementById("app-editor-download");
  if (!link) return;
  if (link.dataset.url) URL.revokeObjectURL(link.dataset.url);
  const url = URL.createObjectURL(new Blob([text], { type: "application/octet-stream" }));
  link.dataset.url = url;
  link.href = url;
  link.download = filename;
  link.hidden = false;
}

// POST the file (to `url`, by default this page's file); resolves to {ok, status, body}. The
// expected version moves on after each save.
export async function saveContent(content, url = editorRoot().dataset.saveUrl) {
  const root = editorRoot();
  const form = new FormData();
  form.set("csrf_token", root.dataset.csrf);
  form.set("expected_version", root.dataset.lockVersion);
  form.set("content", content);
  let response;
  try {
    response = await fetch(url, {
      method: "POST", body: form, headers: { Accept: "application/json" }, credentials: "same-origin",
    });
  } catch (err) {
    return { ok: false, status: 0, body: { message: "The draft could not be saved: the server did not answer. Try again." } };
  }
  let body = {};
  try {
    body = await response.json();
  } catch (err) {
    body = { message: response.status === 400 ? "Your session form expired. Copy your work, reload the page and try again."
      : `The draft could not be saved (error ${response.status}).` };
  }
  if (response.ok && body.lock_version !== undefined) root.dataset.lockVersion = String(body.lock_version);
  return { ok: response.ok, status: response.status, body };
}

// Report a save result in the page. Returns true when saved.
export function reportSave(result, { content, filename }) {
  if (result.ok) {
    clearErrors();
    setStatus(`Saved at ${new Date().toLocaleTimeString("en-GB")}. Draft version ${editorRoot().dataset.lockVersion}.`);
    const link = document.getElementById("app-editor-download");
    if (link) link.hidden = true;
    return true;
  }
  if (result.status === 409) {
    showErrors([
      "Someone else saved this draft after you opened it, so your change was not saved.",
      "Your change is still here: download your version, then reload the page to see theirs.",
    ], { title: "Someone else saved this draft; reload" });
    offerDownload(content, filename);
    setStatus("Not saved: someone else saved this draft.");
    return false;
  }
  const body = result.body || {};
  const messages = [];
  for (const list of Object.values(body.errors || {})) messages.push(...list);
  showErrors(messages.length ? messages : [body.message || "The draft could not be saved."]);
  setStatus("Not saved.");
  return false;
}

// The draft's validation problems (problems.json), checked afresh (never from the HTTP cache).
// Resolves to a list of {file, element_id, element_name, line, message, severity}, or null when the
// list cannot be fetched or describes an older version of the draft than this page saved (the
// panel then keeps what it shows rather than an old answer).
export async function fetchProblems() {
  const root = editorRoot();
  const url = root.dataset.problemsUrl;
  if (!url) return [];
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return null;
    const body = await response.json();
    if (!Array.isArray(body) && body.lock_version !== undefined
        && Number(body.lock_version) < Number(root.dataset.lockVersion)) return null;
    return Array.isArray(body) ? body : (body.problems || []);
  } catch (err) {
    return null;
  }
}

// Fetch and draw the problems after every save: only the answer to the latest request is drawn,
// so a slow check of an older version never replaces a newer one. `draw(problems)` is called with
// the list; returns what it returned.
let problemRequests = 0;
export async function refreshProblemList(draw) {
  const asked = ++problemRequests;
  const problems = await fetchProblems();
  if (problems === null || asked !== problemRequests) return undefined;
  return draw(problems);
}

// Draw this file's problems, each a button that calls select(elementId) when it names an element;
// problems in other files are counted (the draft page lists them all). Returns this file's problems.
export function renderProblems(problems, { path, select } = {}) {
  const panel = document.getElementById("app-problems");
  if (!panel) return [];
  // This file and the files that belong with it (a table's tests, a form's other half).
  const stem = (file) => file.replace(/^(.*\/)?([^/.]+)\..*$/, "$1$2");
  const mine = problems.filter((p) => !p.file || p.file === path || stem(p.file) === stem(path));
  const list = panel.querySelector("ul");
  list.replaceChildren();
  for (const problem of mine) {
    const item = document.createElement("li");
    const severity = problem.severity === "warning" ? "Warning" : "Error";
    const where = [problem.file !== path ? problem.file : null, problem.element_name || problem.element_id,
      problem.line ? `line ${problem.line}` : null]
      .filter(Boolean).join(", ");
    const text = `${severity}${where ? ` (${where})` : ""}: ${problem.message}`;
    if (select && problem.element_id) {
      // A link to the diagram that also selects the element (links wrap like text; buttons do not).
      const link = document.createElement("a");
      link.href = "#app-canvas";
      link.className = "govuk-link";
      link.textContent = text;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        select(problem.element_id);
      });
      item.append(link);
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  list.hidden = mine.length === 0;
  const errors = mine.filter((p) => p.severity !== "warning").length;
  const others = problems.length - mine.length;
  panel.querySelector(".app-problems__count").textContent = (mine.length === 0
    ? "No problems found in this file."
    : `${errors} error${errors === 1 ? "" : "s"} and ${mine.length - errors} warning${mine.length - errors === 1 ? "" : "s"} in this file.`)
    + (others ? ` ${others} more in other files of the draft.` : "");
  panel.hidden = false;
  return mine;
}

// Warn before leaving with unsaved changes.
export function guardUnsaved(isDirty) {
  window.addEventListener("beforeunload", (event) => {
    if (isDirty()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}
