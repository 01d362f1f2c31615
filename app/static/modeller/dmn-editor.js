// dmn-js Modeler for a draft's .dmn file (one decision per file): opens the decision table, with
// - "Timescales": every duration column of the table as a number and a unit (hours / working hours /
//   working days), written back into the table's cells as the ISO value ("PT8H") through dmn-js's
//   modeling API (so undo works and the table shows it at once);
// - "Examples": the table's examples (dmn/<id>.tests.json) as a table, saved with the decision and
//   re-run with every save (the problems list says which fail).
import { DmnModeler } from "../vendor/bpmn-io/dmn-modeler.js";
import {
  editorRoot, guardUnsaved, refreshProblemList, renderProblems, reportSave, saveContent, setStatus, showErrors,
} from "./editor-common.js";
import { describe, durationWidget, parseIso } from "./durations.js";

const root = editorRoot();
const path = root.dataset.path;
const source = document.getElementById("app-editor-source").value;
const examplesSource = document.getElementById("app-examples-source");
const modeler = new DmnModeler({ container: "#app-canvas" });
let dirty = false; // the table changed since it was saved

// --- the table's model -----------------------------------------------------------------------

function literal(text) {
  // A FEEL literal as a JS value: "x" -> x, null -> null, true/false, numbers; undefined otherwise.
  const t = String(text ?? "").trim();
  if (t === "" || t === "null" || t === "-") return null;
  if (/^"(?:[^"\\]|\\.)*"$/.test(t)) return JSON.parse(t);
  if (t === "true" || t === "false") return t === "true";
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  return undefined;
}

function feel(value) {
  if (value === null || value === undefined) return "null";
  return JSON.stringify(value);
}

function allowed(element) {
  const text = element && element.text;
  if (!text) return null;
  const values = text.split(",").map((v) => literal(v)).filter((v) => typeof v === "string");
  return values.length ? values : null;
}

function decision() {
  const view = modeler.getActiveView();
  return view && view.element && view.element.decisionLogic ? view.element : null;
}

// The table's columns: inputs (key = the data name read) and outputs, with duration columns paired
// with their calendar column ("partner_due_in" + "partner_calendar").
function describeTable() {
  const d = decision();
  if (!d) return null;
  const logic = d.decisionLogic;
  const inputs = (logic.input || []).map((input, index) => ({
    index, key: (input.inputExpression && input.inputExpression.text || "").trim(),
    label: input.label || (input.inputExpression && input.inputExpression.text) || `Input ${index + 1}`,
    values: allowed(input.inputValues), typeRef: input.inputExpression && input.inputExpression.typeRef,
  }));
  const rules = logic.rule || [];
  const outputs = (logic.output || []).map((output, index) => {
    const texts = rules.map((r) => (r.outputEntry[index] && r.outputEntry[index].text) || "");
    const values = texts.map(literal);
    const durations = values.filter((v) => typeof v === "string" && parseIso(v));
    const isDuration = /duration/i.test(output.typeRef || "")
      || (durations.length > 0 && values.every((v) => v === null || (typeof v === "string" && parseIso(v))));
    const choices = allowed(output.outputValues);
    const isCalendar = Boolean(choices && choices.includes("working") && choices.includes("elapsed"));
    return { index, name: output.name, label: output.label || output.name, typeRef: output.typeRef,
      values: choices, isDuration, isCalendar };
  });
  const stem = (name) => String(name || "").replace(/_(due_in|duration|due|in|calendar)$/, "");
  for (const output of outputs) {
    if (!output.isDuration) continue;
    output.calendar = outputs.find((o) => o.isCalendar && stem(o.name) === stem(output.name)) || null;
    if (output.calendar) output.calendar.pairedWith = output;
  }
  return { decision: d, inputs, outputs, rules };
}

function modeling() {
  return modeler.getActiveViewer().get("modeling");
}

function ruleLabel(table, rule) {
  const parts = table.inputs.map((input) => {
    const text = (rule.inputEntry[input.index] && rule.inputEntry[input.index].text || "").trim();
    if (!text || text === "-") return null;
    const value = literal(text);
    return `${input.label} is ${value === undefined ? text : value}`;
  }).filter(Boolean);
  return parts.length ? parts.join(" and ") : "any case";
}

// --- Timescales: duration cells as a number and a unit -----------------------------------------

const timescales = document.getElementById("app-timescales");
let timescaleWidgets = new Map();
let timescaleShape = "";

function renderTimescales() {
  const table = describeTable();
  if (!timescales || !table) return;
  const columns = table.outputs.filter((o) => o.isDuration);
  const shape = JSON.stringify([table.rules.map((r) => r.id), columns.map((c) => [c.name, c.calendar && c.calendar.name])]);
  if (shape === timescaleShape) {
    // Same rows and columns: only the values move (keeps the focus where it is).
    for (const rule of table.rules) {
      for (const column of columns) {
        const widget = timescaleWidgets.get(`${rule.id}/${column.name}`);
        if (widget) widget.setValue(...cellValue(rule, column));
      }
    }
    return;
  }
  timescaleShape = shape;
  timescaleWidgets = new Map();
  timescales.hidden = columns.length === 0;
  const body = timescales.querySelector("tbody");
  const head = timescales.querySelector("thead tr");
  head.replaceChildren(th("Row", "col"));
  for (const column of columns) head.append(th(column.label, "col"));
  body.replaceChildren();
  for (const rule of table.rules) {
    const row = document.createElement("tr");
    row.className = "govuk-table__row";
    const label = ruleLabel(table, rule);
    row.append(th(label, "row"));
    for (const column of columns) {
      const cell = document.createElement("td");
      cell.className = "govuk-table__cell";
      const [iso, calendar] = cellValue(rule, column);
      const widget = durationWidget(`${column.label} when ${label}`, {
        iso, calendar, allowNone: true,
        onChange: ({ iso: newIso, calendar: newCalendar }) => {
          const current = describeTable();
          const bo = current.rules.find((r) => r.id === rule.id);
          if (!bo) return;
          modeling().editCell(bo.outputEntry[column.index], feel(newIso));
          if (column.calendar) modeling().editCell(bo.outputEntry[column.calendar.index], feel(newCalendar));
        },
      });
      timescaleWidgets.set(`${rule.id}/${column.name}`, widget);
      cell.append(widget);
      row.append(cell);
    }
    body.append(row);
  }
}

function cellValue(rule, column) {
  const text = rule.outputEntry[column.index] && rule.outputEntry[column.index].text;
  const value = literal(text);
  const iso = value === undefined ? text : value;
  if (!column.calendar) return [iso, undefined];
  const calendar = literal(rule.outputEntry[column.calendar.index] && rule.outputEntry[column.calendar.index].text);
  return [iso, calendar || "elapsed"];
}

function th(text, scope) {
  const cell = document.createElement("th");
  cell.className = "govuk-table__header";
  cell.scope = scope;
  cell.textContent = text;
  return cell;
}

// --- Examples: dmn/<id>.tests.json as a table ------------------------------------------------

const examplesPanel = document.getElementById("app-examples");
let examples = [];
let examplesSaved = "";
let examplesError = null;
let failing = new Map(); // example name -> problem message

function loadExamples() {
  if (!examplesPanel) return;
  const text = examplesSource ? examplesSource.value : "";
  examplesSaved = text;
  if (!text.trim()) {
    examples = [];
    return;
  }
  try {
    const parsed = JSON.parse(text);
    if (!Array.isArray(parsed)) throw new Error("the file is not a list of examples");
    examples = parsed.map((e) => ({ name: e.name || "", inputs: { ...(e.inputs || {}) }, expected: { ...(e.expected || {}) },
      extra: Object.fromEntries(Object.entries(e).filter(([k]) => !["name", "inputs", "expected"].includes(k))) }));
  } catch (err) {
    examplesError = `The examples file cannot be shown as a table (${err.message}). Edit it as text from the draft page.`;
    examples = [];
  }
}

function examplesJson() {
  const lines = examples.map((e) => "  " + JSON.stringify({ ...(e.name ? { name: e.name } : {}), inputs: e.inputs,
    expected: e.expected, ...e.extra }));
  return `[\n${lines.join(",\n")}\n]\n`;
}

function examplesDirty() {
  if (!examplesPanel || examplesError) return false;
  if (!examplesSaved.trim() && examples.length === 0) return false;
  try {
    return JSON.stringify(JSON.parse(examplesSaved || "[]")) !== JSON.stringify(JSON.parse(examplesJson()));
  } catch (err) {
    return true;
  }
}

function exampleName(example, number) {
  return example.name || `example ${number}`;
}

function inWords(table, example) {
  const when = table.inputs.filter((i) => i.key in example.inputs)
    .map((i) => `${i.label} is ${example.inputs[i.key] ?? "empty"}`).join(" and ") || "always";
  const then = [];
  for (const output of table.outputs) {
    if (output.pairedWith || !(output.name in example.expected)) continue;
    const value = example.expected[output.name];
    if (output.isDuration) {
      const calendar = output.calendar ? example.expected[output.calendar.name] : undefined;
      then.push(`${output.label}: ${value === null ? "none" : describe(value, calendar)}`);
    } else {
      then.push(`${output.label}: ${value === null ? "none" : value}`);
    }
  }
  return `When ${when}: ${then.join("; ") || "nothing is checked"}.`;
}

function textControl(label, value, onChange, choices) {
  let control;
  if (choices) {
    control = document.createElement("select");
    control.className = "govuk-select";
    control.append(new Option("(none)", ""));
    for (const choice of choices) control.append(new Option(choice, choice));
    if (value !== null && value !== undefined && !choices.includes(value)) control.append(new Option(String(value), String(value)));
    control.value = value === null || value === undefined ? "" : String(value);
  } else {
    control = document.createElement("input");
    control.className = "govuk-input govuk-input--width-10";
    control.type = "text";
    control.autocomplete = "off";
    control.value = value === null || value === undefined ? "" : (typeof value === "string" ? value : JSON.stringify(value));
  }
  control.id = `app-example-${Math.random().toString(36).slice(2, 10)}`;
  const labelEl = document.createElement("label");
  labelEl.className = "govuk-visually-hidden";
  labelEl.htmlFor = control.id;
  labelEl.textContent = label;
  control.addEventListener("change", () => onChange(control.value));
  const wrap = document.createElement("div");
  wrap.append(labelEl, control);
  return wrap;
}

function typed(text, typeRef, previous) {
  // What a text box holds, as a JSON value: empty = null; numbers and booleans by the column's type.
  const t = String(text).trim();
  if (t === "") return null;
  if (/^(number|integer|long|double)$/i.test(typeRef || "") || typeof previous === "number") {
    const n = Number(t);
    if (!Number.isNaN(n)) return n;
  }
  if (/^boolean$/i.test(typeRef || "") || typeof previous === "boolean") {
    if (/^(true|yes)$/i.test(t)) return true;
    if (/^(false|no)$/i.test(t)) return false;
  }
  return t;
}

function renderExamples() {
  const table = describeTable();
  if (!examplesPanel || !table) return;
  const error = document.getElementById("app-examples-error");
  error.hidden = !examplesError;
  error.textContent = examplesError || "";
  const grid = examplesPanel.querySelector("table");
  grid.hidden = Boolean(examplesError) || examples.length === 0;
  document.getElementById("app-examples-add").hidden = Boolean(examplesError);
  const inputKeys = table.inputs.filter((i) => i.key);
  const outputs = table.outputs.filter((o) => !o.pairedWith);
  const head = grid.querySelector("thead tr");
  head.replaceChildren(th("Example", "col"));
  for (const input of inputKeys) head.append(th(`When ${input.label}`, "col"));
  for (const output of outputs) head.append(th(`Then ${output.label}`, "col"));
  head.append(th("Result", "col"));
  const body = grid.querySelector("tbody");
  body.replaceChildren();
  const words = document.getElementById("app-examples-words");
  words.replaceChildren();
  examples.forEach((example, i) => {
    const number = i + 1;
    const name = exampleName(example, number);
    const row = document.createElement("tr");
    row.className = "govuk-table__row";
    row.dataset.example = name;
    const nameCell = document.createElement("td");
    nameCell.className = "govuk-table__cell";
    nameCell.append(textControl(`Example ${number}: name`, example.name, (v) => { example.name = v.trim(); changedExamples(example); }));
    row.append(nameCell);
    for (const input of inputKeys) {
      const cell = document.createElement("td");
      cell.className = "govuk-table__cell";
      cell.append(textControl(`Example ${name}: when ${input.label}`, example.inputs[input.key], (v) => {
        example.inputs[input.key] = typed(v, input.typeRef, example.inputs[input.key]);
        changedExamples(example);
      }, input.values));
      row.append(cell);
    }
    for (const output of outputs) {
      const cell = document.createElement("td");
      cell.className = "govuk-table__cell";
      const label = `Example ${name}: ${output.label}`;
      if (output.isDuration) {
        const calendar = output.calendar ? (example.expected[output.calendar.name] || "elapsed") : undefined;
        cell.append(durationWidget(label, {
          iso: example.expected[output.name] ?? null, calendar, allowNone: true,
          onChange: ({ iso, calendar: newCalendar }) => {
            example.expected[output.name] = iso;
            if (output.calendar) example.expected[output.calendar.name] = newCalendar;
            changedExamples(example);
          },
        }));
      } else {
        cell.append(textControl(label, example.expected[output.name], (v) => {
          example.expected[output.name] = typed(v, output.typeRef, example.expected[output.name]);
          changedExamples(example);
        }, output.values));
      }
      row.append(cell);
    }
    const result = document.createElement("td");
    result.className = "govuk-table__cell";
    const problem = example.unchecked ? null : failing.get(name);
    const tag = document.createElement("strong");
    tag.className = `govuk-tag ${example.unchecked ? "govuk-tag--grey" : problem ? "govuk-tag--red" : "govuk-tag--green"}`;
    tag.textContent = example.unchecked ? "Checked when saved" : problem ? "Fails" : "Passes";
    result.append(tag);
    if (problem) {
      const why = document.createElement("p");
      why.className = "govuk-body-s govuk-!-margin-top-1 govuk-!-margin-bottom-1";
      why.textContent = problem;
      result.append(why);
    }
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "govuk-button govuk-button--secondary govuk-!-margin-bottom-0 govuk-!-margin-top-1";
    remove.textContent = "Remove";
    const hidden = document.createElement("span");
    hidden.className = "govuk-visually-hidden";
    hidden.textContent = ` example ${name}`;
    remove.append(hidden);
    remove.addEventListener("click", () => {
      examples.splice(i, 1);
      changedExamples();
      renderExamples();
    });
    result.append(remove);
    row.append(result);
    body.append(row);
    const item = document.createElement("li");
    item.textContent = inWords(table, example);
    words.append(item);
  });
}

function changedExamples(example) {
  if (example) {
    example.unchecked = true;
    const row = examplesPanel.querySelectorAll("tbody tr")[examples.indexOf(example)];
    const tag = row && row.querySelector(".govuk-tag");
    if (tag) {
      tag.className = "govuk-tag govuk-tag--grey";
      tag.textContent = "Checked when saved";
      const why = tag.parentElement.querySelector("p");
      if (why) why.remove();
    }
  }
  setStatus("You have unsaved changes.");
  const table = describeTable();
  const words = document.getElementById("app-examples-words");
  if (table && words) {
    [...words.children].forEach((item, i) => { if (examples[i]) item.textContent = inWords(table, examples[i]); });
  }
}

document.getElementById("app-examples-add")?.addEventListener("click", () => {
  const table = describeTable();
  if (!table) return;
  examples.push({
    unchecked: true,
    name: `example ${examples.length + 1}`,
    inputs: Object.fromEntries(table.inputs.filter((i) => i.key).map((i) => [i.key, i.values ? i.values[0] : null])),
    expected: Object.fromEntries(table.outputs.map((o) => [o.name, null])),
    extra: {},
  });
  changedExamples();
  renderExamples();
  const rows = examplesPanel.querySelectorAll("tbody tr");
  rows[rows.length - 1]?.querySelector("input, select")?.focus();
});

// --- problems --------------------------------------------------------------------------------

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

function noteFailingExamples(problems) {
  const examplesPath = root.dataset.examplesPath;
  if (!examplesDirty()) for (const example of examples) delete example.unchecked; // what was checked is what is shown
  failing = new Map();
  for (const p of problems) {
    if (p.file !== examplesPath) continue;
    const match = /^(.+?)(?: failed:|: the table could not decide:)/.exec(p.message);
    if (match) failing.set(match[1], p.message);
  }
  renderExamples();
}

async function refreshProblems() {
  await refreshProblemList((problems) => {
    markProblems(renderProblems(problems, { path, select: selectDecision }) || []);
    noteFailingExamples(problems);
  });
}

function selectDecision(id) {
  const cell = document.querySelector(`#app-canvas [data-row-id="${CSS.escape(id)}"], #app-canvas [data-col-id="${CSS.escape(id)}"]`);
  if (cell) {
    cell.scrollIntoView({ block: "center" });
    const editable = cell.querySelector("[contenteditable]");
    if (editable) editable.focus();
    return;
  }
  if (id === root.dataset.decisionId && examplesPanel) {
    examplesPanel.scrollIntoView({ block: "start" });
    return;
  }
  const view = modeler.getViews().find((v) => v.element.id === id && v.type === "decisionTable")
    || modeler.getViews().find((v) => v.type === "decisionTable");
  if (view) modeler.open(view).then(watchView);
}

// --- load and save ---------------------------------------------------------------------------

let watched = null;

function watchView() {
  const viewer = modeler.getActiveViewer();
  if (!viewer || viewer === watched) return;
  watched = viewer;
  viewer.on("elements.changed", () => {
    dirty = true;
    setStatus("You have unsaved changes.");
    renderTimescales();
  });
  renderTimescales();
  renderExamples();
}

async function open() {
  loadExamples();
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
  // Leave any cell or box being edited so its text is in the model.
  if (document.activeElement && document.activeElement.blur) document.activeElement.blur();
  const withExamples = examplesDirty();
  setStatus("Saving…");
  if (dirty || !withExamples) {
    const { xml } = await modeler.saveXML({ format: true });
    const result = await saveContent(xml);
    if (!reportSave(result, { content: xml, filename: path.split("/").pop() })) return;
    dirty = false;
  }
  if (withExamples) {
    const text = examplesJson();
    const saved = await saveContent(text, root.dataset.examplesSaveUrl);
    if (!reportSave(saved, { content: text, filename: root.dataset.examplesPath.split("/").pop() })) {
      refreshProblems();
      return;
    }
    examplesSaved = text;
    setStatus(`Saved the examples at ${new Date().toLocaleTimeString("en-GB")}. `
      + `Draft version ${root.dataset.lockVersion}.`);
  }
  refreshProblems();
});

guardUnsaved(() => dirty || examplesDirty());
open();
