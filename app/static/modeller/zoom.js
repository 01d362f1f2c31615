// Fit a diagram in its box, unless that makes it too small to read: then show it at a readable
// scale centred on the first of `focusIds` that exists (else the first start event).
export function readableZoom(canvas, elementRegistry, focusIds, minimum = 0.55) {
  canvas.zoom("fit-viewport");
  if (canvas.zoom() >= minimum) return;
  canvas.zoom(0.8);
  const target = focusIds.map((id) => elementRegistry.get(id)).find(Boolean)
    || elementRegistry.filter((e) => e.type === "bpmn:StartEvent")[0];
  if (!target) return;
  const box = canvas.viewbox();
  canvas.viewbox({
    x: target.x + target.width / 2 - box.width / 2,
    y: target.y + target.height / 2 - box.height / 2,
    width: box.width,
    height: box.height,
  });
}
