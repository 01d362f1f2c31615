// A duration edited as a number and a unit, stored as the ISO 8601 value the models use
// ("PT8H", "P1D"). Used by the decision table editor (its timescale columns and examples) and the
// BPMN side form (due times and timers). Plain DOM; no inline styles (CSP).
//
// With a calendar (an output such as `partner_calendar` next to `partner_due_in`, whose values are
// "elapsed" / "working") the unit also says which calendar: "8 working hours" = PT8H + "working".

const SINGLE = /^P(?:(\d+)D|T(\d+)H|T(\d+)M|(\d+)W)$/;

export const UNITS_PLAIN = [
  { value: "minutes", text: "minutes" },
  { value: "hours", text: "hours" },
  { value: "days", text: "days" },
];
export const UNITS_CALENDAR = [
  { value: "hours", text: "hours" },
  { value: "working_hours", text: "working hours" },
  { value: "days", text: "days" },
  { value: "working_days", text: "working days" },
];

// "PT8H" -> {amount: 8, unit: "hours"}; null for anything that is not one number and one unit.
export function parseIso(iso) {
  const match = SINGLE.exec(String(iso || "").trim());
  if (!match) return null;
  if (match[1] !== undefined) return { amount: Number(match[1]), unit: "days" };
  if (match[2] !== undefined) return { amount: Number(match[2]), unit: "hours" };
  if (match[3] !== undefined) return { amount: Number(match[3]), unit: "minutes" };
  return { amount: Number(match[4]) * 7, unit: "days" };
}

export function toIso(amount, unit) {
  const n = Number(amount);
  if (!Number.isInteger(n) || n < 0) return null;
  if (unit.endsWith("days")) return `P${n}D`;
  if (unit.endsWith("hours")) return `PT${n}H`;
  if (unit === "minutes") return `PT${n}M`;
  return null;
}

// {iso, calendar} -> the widget's {amount, unit}; calendar undefined when there is no calendar.
export function fromValue(iso, calendar) {
  if (iso === null || iso === undefined || iso === "") return { amount: "", unit: "" };
  const parsed = parseIso(iso);
  if (!parsed) return null;
  let unit = parsed.unit;
  if (calendar === "working") unit = `working_${unit}`;
  return { amount: String(parsed.amount), unit };
}

// The widget's {amount, unit} -> {iso, calendar} (null both for "no time"); {error} when invalid.
export function toValue(amount, unit, withCalendar) {
  if (!unit) return { iso: null, calendar: null };
  const text = String(amount).trim();
  if (!/^\d{1,4}$/.test(text)) return { error: "Enter a whole number, for example 8" };
  const iso = toIso(Number(text), unit);
  return { iso, calendar: withCalendar ? (unit.startsWith("working_") ? "working" : "elapsed") : undefined };
}

// In words: "8 working hours", "1 working day", "no time".
export function describe(iso, calendar) {
  if (iso === null || iso === undefined) return "no time";
  const parsed = parseIso(iso);
  if (!parsed) return String(iso);
  const unit = parsed.amount === 1 ? parsed.unit.replace(/s$/, "") : parsed.unit;
  return `${parsed.amount} ${calendar === "working" ? "working " : ""}${unit}`;
}

let counter = 0;

// A number input and a unit select (GOV.UK styles, visually hidden labels naming `label`).
// options: {iso, calendar (undefined = no calendar column), allowNone, onChange({iso, calendar})}.
export function durationWidget(label, { iso, calendar, allowNone = false, onChange, disabled = false } = {}) {
  const id = `app-duration-${++counter}`;
  const withCalendar = calendar !== undefined;
  const wrapper = document.createElement("div");
  wrapper.className = "app-duration";
  const number = document.createElement("input");
  number.className = "govuk-input govuk-input--width-3";
  number.id = `${id}-amount`;
  number.type = "text";
  number.inputMode = "numeric";
  number.autocomplete = "off";
  number.spellcheck = false;
  const numberLabel = document.createElement("label");
  numberLabel.className = "govuk-visually-hidden";
  numberLabel.htmlFor = number.id;
  numberLabel.textContent = `${label}: number`;
  const select = document.createElement("select");
  select.className = "govuk-select";
  select.id = `${id}-unit`;
  const selectLabel = document.createElement("label");
  selectLabel.className = "govuk-visually-hidden";
  selectLabel.htmlFor = select.id;
  selectLabel.textContent = `${label}: unit`;
  if (allowNone) select.append(new Option("no time", ""));
  for (const unit of withCalendar ? UNITS_CALENDAR : UNITS_PLAIN) select.append(new Option(unit.text, unit.value));
  const error = document.createElement("p");
  error.className = "govuk-error-message app-duration__error";
  error.hidden = true;
  error.id = `${id}-error`;
  wrapper.append(numberLabel, number, selectLabel, select, error);

  function set(newIso, newCalendar) {
    const value = fromValue(newIso, newCalendar);
    if (!value) {
      wrapper.dataset.state = "expression";
      number.value = String(newIso);
      number.disabled = true;
      select.disabled = true;
      return;
    }
    wrapper.dataset.state = "ok";
    number.disabled = disabled;
    select.disabled = disabled;
    number.value = value.amount;
    select.value = value.unit;
    if (!allowNone && !value.unit) select.value = withCalendar ? "hours" : "hours";
  }

  function changed() {
    if (!select.value && number.value.trim()) {
      // A number typed while "no time" is chosen: hours is what people mean first.
      select.value = withCalendar ? "working_hours" : "hours";
    }
    const result = toValue(number.value, select.value, withCalendar);
    error.hidden = !result.error;
    error.textContent = result.error ? `Error: ${result.error}` : "";
    number.classList.toggle("govuk-input--error", Boolean(result.error));
    if (result.error) number.setAttribute("aria-describedby", error.id);
    else number.removeAttribute("aria-describedby");
    if (!result.error && onChange) onChange(result);
  }

  number.addEventListener("change", changed);
  select.addEventListener("change", () => {
    if (!select.value) number.value = "";
    changed();
  });
  set(iso, calendar);
  wrapper.setValue = set;
  wrapper.inputs = { number, select };
  return wrapper;
}
