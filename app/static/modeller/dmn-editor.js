// dmn-js Modeler for a draft's .dmn file (one decision per file): opens the decision table.
import { DmnModeler } from "../vendor/bpmn-io/dmn-modeler.js";
import {
  editorRoot, fetchProblems, guardUnsaved, renderProblems, reportSave, saveContent, setStatus, showErrors,
} from "./editor-common.js";

const root = editorRoot();
const path = root.dataset.path;
const source = document.getElementById("app-editor-source").value;
const modeler = new DmnModeler({ container: "#app-canvas" });
let dirty = false;

function watchView() {
  const viewer = modeler.getActiveViewer();
  if (!viewer) return;
  viewer.on("elements.changed", () => {
    dirty = true;
    setStatus("You have unsaved changes.");
  });
}

// Highlight the rows and columns problems name. A constructable stylesheet (allowed by the CSP,
// unlike a <style> element) keeps the marks through dmn-js's re-rendering of the table.
const marks = new CSSStyleSheet();
document.adoptedStyleSheets = [...document.adoptedStyleSheets, marks];

function markProblems(problems) {
  const rules = [];
  for (const p of problems) {
    if (!p.element_id) continue;
    const id = CSS.escape(p.element_id);
    const colour = p.severity === "warning" ? "#f47738" : "#d4351c";
    rules.push(`#app-canvas td[data-row-id="${id}"], #app-canvas th[data-col-id="${id}"], `
      + `#app-canvas td[data-col-id="${id}"] { box-shadow: inset 0 0 0 3px ${colour}; }`);
  }
  marks.replaceSync(rules.join("\n"));
}

async function refreshProblems() {
  markProblems(renderProblems(await fetchProblems(), { path, select: selectDecision }) || []);
}

function selectDecision(id) {
  const cell = document.querySelector(`#app-canvas [data-row-id="${CSS.escape(id)}"], #app-canvas [data-col-id="${CSS.escape(id)}"]`);
  if (cell) {
    cell.scrollIntoView({ block: "center" });
    const editable = cell.querySelector("[contenteditable]");
    if (editable) editable.focus();
    return;
  }
  const view = modeler.getViews().find((v) => v.element.id === id && v.type === "decisionTable")
    || modeler.getViews().find((v) => v.type === "decisionTable");
  if (view) modeler.open(view).then(watchView);
}

async function open() {
  try {
    const { warnings } = await modeler.importXML(source);
    const table = modeler.getViews().find((v) => v.type === "decisionTable");
    if (table) await modeler.open(table);
    watchView();
    if (warnings.length) {
      showErrors(warnings.slice(0, 5).map((w) => w.message), { title: "The editor warned about this file", focus: false });
    }
    setStatus(`Opened ${path}. Draft version ${root.dataset.lockVersion}.`);
    root.dataset.ready = "true";
  } catch (err) {
    showErrors([`The decision could not be opened: ${err.message}`]);
    root.dataset.ready = "error";
  }
  refreshProblems();
}

modeler.on("views.changed", watchView);

document.getElementById("app-editor-save").addEventListener("click", async () => {
  // Leave any cell being edited so its text is in the model.
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  const { xml } = await modeler.saveXML({ format: true });
  setStatus("Saving…");
  const result = await saveContent(xml);
  if (reportSave(result, { content: xml, filename: path.split("/").pop() })) {
    dirty = false;
    refreshProblems();
  }
});

guardUnsaved(() => dirty);
open();
