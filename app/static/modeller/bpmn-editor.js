// bpmn-js Modeler for a draft's .bpmn file, with
// - the bpmn-js properties panel (ids, names, documentation, events, ...), and
// - "What this app reads": a GOV.UK side form bound to the selected element through the modeling
//   API (so undo/redo work): lane name = role id, a user task's form files, due time and
//   instructions, a business rule task's called decision (spiffworkflow extensions).
import { Modeler, BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "../vendor/bpmn-io/bpmn-modeler.js";
import spiffworkflow from "./spiffworkflow-moddle.js";
import { readableZoom } from "./zoom.js";
import { durationWidget } from "./durations.js";
import {
  editorRoot, guardUnsaved, refreshProblemList, renderProblems, reportSave, saveContent, setStatus, showErrors,
} from "./editor-common.js";

const root = editorRoot();
const path = root.dataset.path;
const source = document.getElementById("app-editor-source").value;
const modeler = new Modeler({
  container: "#app-canvas",
  propertiesPanel: { parent: "#app-properties-panel" },
  additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule],
  moddleExtensions: { spiffworkflow },
});
const modeling = modeler.get("modeling");
const moddle = modeler.get("moddle");
const canvas = modeler.get("canvas");
const overlays = modeler.get("overlays");
const elementRegistry = modeler.get("elementRegistry");
const selection = modeler.get("selection");
const form = document.getElementById("app-element-form");
let dirty = false;
let blocked = null; // why saving would lose data, if it would
let selected = null;

// --- extension elements ----------------------------------------------------------------------

function extensionValues(bo) {
  return (bo.extensionElements && bo.extensionElements.values) || [];
}

function findExtension(bo, type) {
  return extensionValues(bo).find((v) => v.$instanceOf && v.$instanceOf(type));
}

function ensureExtensions(element) {
  const bo = element.businessObject;
  if (!bo.extensionElements) {
    const ext = moddle.create("bpmn:ExtensionElements", { values: [] });
    modeling.updateProperties(element, { extensionElements: ext });
  }
  return bo.extensionElements;
}

function getProperty(bo, name) {
  const props = findExtension(bo, "spiffworkflow:Properties");
  const prop = props && (props.properties || []).find((p) => p.name === name);
  return prop ? prop.value || "" : "";
}

function setProperty(element, name, value) {
  const bo = element.businessObject;
  let props = findExtension(bo, "spiffworkflow:Properties");
  const existing = props && (props.properties || []).find((p) => p.name === name);
  if (existing) {
    if (value) modeling.updateModdleProperties(element, existing, { value });
    else modeling.updateModdleProperties(element, props, { properties: props.properties.filter((p) => p !== existing) });
    return;
  }
  if (!value) return;
  const ext = ensureExtensions(element);
  const prop = moddle.create("spiffworkflow:Property", { name, value });
  if (!props) {
    props = moddle.create("spiffworkflow:Properties", { properties: [prop] });
    modeling.updateModdleProperties(element, ext, { values: [...ext.values, props] });
  } else {
    modeling.updateModdleProperties(element, props, { properties: [...(props.properties || []), prop] });
  }
}

function getBody(bo, type) {
  const el = findExtension(bo, type);
  return el ? el.value || "" : "";
}

function setBody(element, type, value) {
  const bo = element.businessObject;
  const existing = findExtension(bo, type);
  if (existing) {
    const ext = bo.extensionElements;
    if (value) modeling.updateModdleProperties(element, existing, { value });
    else modeling.updateModdleProperties(element, ext, { values: ext.values.filter((v) => v !== existing) });
    return;
  }
  if (!value) return;
  const ext = ensureExtensions(element);
  modeling.updateModdleProperties(element, ext, { values: [...ext.values, moddle.create(type, { value })] });
}

// --- the side form ---------------------------------------------------------------------------

const fields = {
  name: document.getElementById("element-name"),
  role: document.getElementById("element-role"),
  schema: document.getElementById("element-form-schema"),
  uiSchema: document.getElementById("element-form-ui-schema"),
  dueAt: document.getElementById("element-due-at"),
  instructions: document.getElementById("element-instructions"),
  decision: document.getElementById("element-called-decision"),
  timer: document.getElementById("element-timer"),
};

// --- durations: a due time or a timer that is a plain duration, as a number and a unit ----------

// `add_working(received_at, "P1D")` -> {fn: "working", start: "received_at", iso: "P1D", quote: '"'};
// `PT4H` / "PT4H" -> {fn: null, iso: "PT4H", quote}; anything else -> null (edited as an expression).
const AFTER = /^\s*add_(working|elapsed)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,\s*(["'])(P[0-9DTHMW]+)\3\s*\)\s*$/;
const PLAIN = /^\s*(["']?)(P[0-9DTHMW]+)\1\s*$/;

function parseDurationExpression(text) {
  let match = AFTER.exec(text || "");
  if (match) return { fn: match[1], start: match[2], iso: match[4], quote: match[3] };
  match = PLAIN.exec(text || "");
  if (match) return { fn: null, start: null, iso: match[2], quote: match[1] };
  return null;
}

function durationExpression(parsed, iso, calendar) {
  if (parsed.fn) return `add_${calendar === "working" ? "working" : "elapsed"}(${parsed.start}, ${parsed.quote}${iso}${parsed.quote})`;
  return `${parsed.quote}${iso}${parsed.quote}`;
}

// Show (or hide) the number-and-unit helper under an expression field.
function showDuration(fieldset, label, text, apply) {
  const parsed = parseDurationExpression(text);
  const slot = fieldset.querySelector(".app-duration-slot");
  if (!parsed || !/^P(\d+D|T\d+H|T\d+M|\d+W)$/.test(parsed.iso)) {
    fieldset.dataset.plain = "false";
    return false;
  }
  fieldset.dataset.plain = "true";
  const mode = parsed.fn ? "calendar" : "plain";
  const calendar = parsed.fn ? parsed.fn : undefined;
  fieldset.current = parsed;
  if (slot.dataset.mode === mode && slot.dataset.label === label && slot.firstChild) {
    slot.firstChild.setValue(parsed.iso, calendar);
  } else {
    slot.dataset.mode = mode;
    slot.dataset.label = label;
    slot.replaceChildren(durationWidget(label, {
      iso: parsed.iso, calendar, allowNone: false,
      onChange: ({ iso, calendar: newCalendar }) => {
        if (!selected || !iso) return;
        apply(selected, durationExpression(fieldset.current, iso, newCalendar));
      },
    }));
  }
  const start = fieldset.querySelector(".app-duration-start");
  if (start) start.textContent = parsed.start || "";
  const after = fieldset.querySelector(".app-duration-after") || (start && start.parentElement);
  if (after) after.hidden = !parsed.start;
  return true;
}

function timerOf(bo) {
  return (bo.eventDefinitions || []).find((d) => d.$type === "bpmn:TimerEventDefinition") || null;
}

function timerExpression(bo) {
  const timer = timerOf(bo);
  if (!timer) return { kind: null, expr: null };
  for (const kind of ["timeDuration", "timeDate", "timeCycle"]) {
    if (timer[kind]) return { kind, expr: timer[kind] };
  }
  return { kind: null, expr: null };
}

function setTimer(element, value) {
  const bo = element.businessObject;
  const timer = timerOf(bo);
  if (!timer) return;
  const { kind, expr } = timerExpression(bo);
  if (expr) {
    modeling.updateModdleProperties(element, expr, { body: value });
    return;
  }
  const created = moddle.create("bpmn:FormalExpression", { body: value });
  const newKind = PLAIN.test(value) ? "timeDuration" : "timeDate";
  modeling.updateModdleProperties(element, timer, { [kind || newKind]: created });
}

function ensureOption(select, value, note = "not in this draft") {
  if (value && ![...select.options].some((o) => o.value === value)) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = `${value} (${note})`;
    select.append(option);
  }
  select.value = value;
}

function kindOf(element) {
  if (!element) return null;
  const type = element.businessObject.$type;
  if (type === "bpmn:Lane") return "lane";
  if (type === "bpmn:UserTask") return "userTask";
  if (type === "bpmn:BusinessRuleTask") return "businessRuleTask";
  if (timerOf(element.businessObject)) return "timer";
  return "other";
}

function showForm(element) {
  selected = element && element.type !== "label" ? element : null;
  const kind = kindOf(selected);
  for (const group of form.querySelectorAll("[data-for]")) {
    group.hidden = !kind || !group.dataset.for.split(" ").includes(kind);
  }
  const heading = document.getElementById("app-element-heading");
  const none = document.getElementById("app-element-none");
  none.hidden = Boolean(selected);
  picker.value = selected && [...picker.options].some((o) => o.value === selected.id) ? selected.id : "";
  if (!selected) {
    heading.textContent = "Selected element";
    return;
  }
  const bo = selected.businessObject;
  heading.textContent = `${bo.name || bo.id} (${bo.$type.replace("bpmn:", "")})`;
  document.getElementById("app-element-id").textContent = bo.id;
  fields.name.value = bo.name || "";
  if (kind === "lane") ensureOption(fields.role, bo.name || "", "not a known role");
  if (kind === "userTask") {
    ensureOption(fields.schema, getProperty(bo, "formJsonSchemaFilename"));
    ensureOption(fields.uiSchema, getProperty(bo, "formUiSchemaFilename"));
    fields.dueAt.value = getProperty(bo, "dueAt");
    const dueBox = document.getElementById("element-due-at-duration");
    dueBox.hidden = !showDuration(dueBox, "Due", fields.dueAt.value, (el, value) => setProperty(el, "dueAt", value));
    fields.instructions.value = getBody(bo, "spiffworkflow:InstructionsForEndUser");
  }
  if (kind === "businessRuleTask") ensureOption(fields.decision, getBody(bo, "spiffworkflow:CalledDecisionId"));
  if (kind === "timer") {
    const { kind: timerKind, expr } = timerExpression(bo);
    document.getElementById("element-timer-kind").textContent = { timeDuration: "how long it waits",
      timeDate: "when it fires", timeCycle: "how often it fires" }[timerKind] || "when it fires";
    fields.timer.value = expr ? expr.body || "" : "";
    const timerBox = document.getElementById("element-timer-duration");
    timerBox.hidden = !showDuration(timerBox, "Fires", fields.timer.value, (el, value) => setTimer(el, value));
  }
}

function bind(input, apply) {
  input.addEventListener("change", () => {
    if (!selected) return;
    apply(selected, input.value.trim());
  });
}

bind(fields.name, (el, value) => modeling.updateLabel(el, value));
bind(fields.role, (el, value) => modeling.updateLabel(el, value));
bind(fields.schema, (el, value) => {
  setProperty(el, "formJsonSchemaFilename", value);
  // The UI schema almost always follows the schema's name: offer it when it exists.
  const ui = value.replace(/\.schema\.json$/, ".uischema.json");
  if (value && !getProperty(el.businessObject, "formUiSchemaFilename") && [...fields.uiSchema.options].some((o) => o.value === ui)) {
    setProperty(el, "formUiSchemaFilename", ui);
  }
});
bind(fields.uiSchema, (el, value) => setProperty(el, "formUiSchemaFilename", value));
bind(fields.dueAt, (el, value) => setProperty(el, "dueAt", value));
bind(fields.instructions, (el, value) => setBody(el, "spiffworkflow:InstructionsForEndUser", value));
bind(fields.decision, (el, value) => setBody(el, "spiffworkflow:CalledDecisionId", value));
bind(fields.timer, (el, value) => setTimer(el, value));
form.addEventListener("submit", (event) => event.preventDefault());

modeler.on("selection.changed", ({ newSelection }) => showForm(newSelection.length === 1 ? newSelection[0] : null));
modeler.on("elements.changed", ({ elements }) => {
  if (selected && elements.some((e) => e.id === selected.id)) showForm(elementRegistry.get(selected.id) || null);
});
modeler.on("commandStack.changed", () => {
  fillPicker();
  dirty = true;
  setStatus("You have unsaved changes.");
});

// --- "Go to an element": lanes, tasks, gateways and events by name, for keyboard users -------------

const picker = document.getElementById("app-element-picker");
const PICKABLE = /^bpmn:(Lane|Participant|.*Task|CallActivity|SubProcess|.*Gateway|.*Event)$/;
const GROUP_OF = (type) => (type === "bpmn:Lane" || type === "bpmn:Participant" ? "Lanes and pools"
  : /Task|CallActivity|SubProcess/.test(type) ? "Tasks" : /Gateway/.test(type) ? "Gateways" : "Events");

function fillPicker() {
  const groups = new Map();
  for (const element of elementRegistry.getAll()) {
    const bo = element.businessObject;
    if (element.type === "label" || !bo || !PICKABLE.test(bo.$type)) continue;
    const group = GROUP_OF(bo.$type);
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push([bo.name ? `${bo.name} (${bo.id})` : bo.id, bo.id]);
  }
  picker.replaceChildren(picker.options[0]);
  for (const name of ["Lanes and pools", "Tasks", "Gateways", "Events"]) {
    if (!groups.has(name)) continue;
    const optgroup = document.createElement("optgroup");
    optgroup.label = name;
    for (const [text, id] of groups.get(name).sort((a, b) => a[0].localeCompare(b[0]))) {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = text;
      optgroup.append(option);
    }
    picker.append(optgroup);
  }
  picker.value = selected && elementRegistry.get(selected.id) ? selected.id : "";
}

picker.addEventListener("change", () => {
  if (picker.value) selectElement(picker.value, { focusCanvas: false });
});

// --- problems on the diagram -----------------------------------------------------------------

function selectElement(id, { focusCanvas = true } = {}) {
  const element = elementRegistry.get(id);
  if (!element) return;
  selection.select(element);
  canvas.scrollToElement(element);
  if (focusCanvas) document.getElementById("app-canvas").focus();
}

function markProblems(problems) {
  overlays.remove({ type: "app-problem" });
  for (const el of elementRegistry.getAll()) {
    canvas.removeMarker(el.id, "app-problem");
    canvas.removeMarker(el.id, "app-warning");
  }
  const byElement = {};
  for (const p of problems) {
    if (!p.element_id || !elementRegistry.get(p.element_id)) continue;
    (byElement[p.element_id] = byElement[p.element_id] || []).push(p);
  }
  for (const [id, list] of Object.entries(byElement)) {
    const errors = list.filter((p) => p.severity !== "warning").length;
    canvas.addMarker(id, errors ? "app-problem" : "app-warning");
    const badge = document.createElement("span");
    badge.className = errors ? "app-problem-badge" : "app-problem-badge app-problem-badge--warning";
    badge.textContent = errors ? `${errors} error${errors === 1 ? "" : "s"}` : `${list.length} warning${list.length === 1 ? "" : "s"}`;
    badge.title = list.map((p) => p.message).join("\n");
    overlays.add(id, "app-problem", { position: { top: -12, left: 0 }, html: badge });
  }
}

async function refreshProblems() {
  await refreshProblemList((problems) => markProblems(renderProblems(problems, { path, select: selectElement }) || []));
}

// --- load and save ---------------------------------------------------------------------------

async function open() {
  try {
    const { warnings } = await modeler.importXML(source);
    const lossy = warnings.filter((w) => /unparsable|unknown|unresolved|could not/i.test(w.message));
    if (lossy.length) {
      blocked = lossy.map((w) => w.message);
      showErrors(["The editor cannot keep everything in this file, so saving is turned off.", ...blocked.slice(0, 5)],
        { title: "This diagram cannot be saved from the browser" });
    }
    readableZoom(canvas, elementRegistry, []);
    fillPicker();
    setStatus(`Opened ${path}. Draft version ${root.dataset.lockVersion}.`);
    root.dataset.ready = "true";
  } catch (err) {
    showErrors([`The diagram could not be opened: ${err.message}`]);
    root.dataset.ready = "error";
  }
  showForm(null);
  refreshProblems();
}

document.getElementById("app-editor-save").addEventListener("click", async () => {
  if (blocked) {
    showErrors(["Saving is turned off for this diagram.", ...blocked.slice(0, 5)]);
    return;
  }
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
