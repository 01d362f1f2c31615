// The read-only case diagram: bpmn-js NavigatedViewer with the case's completed, active and
// overdue elements and the path taken marked. The page lists the same steps as text.
import { NavigatedViewer } from "../vendor/bpmn-io/bpmn-viewer.js";
import { readableZoom } from "./zoom.js";

const root = document.getElementById("app-case-diagram");
const data = JSON.parse(document.getElementById("app-case-diagram-data").value);
const viewer = new NavigatedViewer({
  container: "#app-canvas",
});

async function open() {
  try {
    await viewer.importXML(data.xml);
  } catch (err) {
    document.getElementById("app-diagram-error").hidden = false;
    root.dataset.ready = "error";
    return;
  }
  const canvas = viewer.get("canvas");
  const registry = viewer.get("elementRegistry");
  const mark = (ids, marker) => {
    for (const id of ids) if (registry.get(id)) canvas.addMarker(id, marker);
  };
  mark(data.completed, "app-completed");
  mark(data.active, "app-active");
  mark(data.overdue, "app-overdue");
  mark(data.flows, "app-taken");
  readableZoom(canvas, registry, [...data.overdue, ...data.active, ...data.completed.slice(-1)]);
  root.dataset.ready = "true";
}

open();
