#!/usr/bin/env node
// Copies the front-end files the pages need from node_modules into app/static/vendor/.
//
//   app/static/vendor/govuk-frontend/  govuk-frontend.min.css, govuk-frontend.min.js (ES module) + map,
//                                      assets/ (fonts, images, manifest.json)
//   app/static/vendor/moj/             moj-frontend.min.css, moj-frontend.min.js (ES module) + map, assets/
//   app/static/vendor/axe/axe.min.js   axe-core, only for the browser tests
//   app/static/vendor/bpmn-io/         the model editors (issue 6), bundled by esbuild into ES modules
//                                      that app/static/modeller/*.js import: bpmn-modeler.js (bpmn-js
//                                      Modeler + properties panel), bpmn-viewer.js (NavigatedViewer),
//                                      dmn-modeler.js (dmn-js Modeler), chunk-*.js (shared code), and
//                                      their stylesheets + icon fonts under css/ (no data: fonts: CSP
//                                      font-src 'self'). Nothing is fetched at run time and no bundle
//                                      needs eval (checked below: the build fails on eval/new Function).
//
// Both dist stylesheets point at fonts and images with root-absolute URLs (`url(/assets/...)`).
// We rewrite those to URLs relative to the stylesheet (`url(assets/...)`), so that they resolve to
// the copied assets/ folder beside each stylesheet under /static/ and no `/assets/` route is needed.
//
// Idempotent: each output folder is removed and written afresh. Run with `npm run build`.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const modules = join(root, "node_modules");
const vendor = join(root, "app", "static", "vendor");
const copied = [];

function need(path) {
  if (!existsSync(path)) {
    console.error(`build-assets: missing ${relative(root, path)} (run \`npm ci\` first)`);
    process.exit(1);
  }
  return path;
}

function countFiles(path) {
  if (!statSync(path).isDirectory()) return 1;
  return readdirSync(path).reduce((n, name) => n + countFiles(join(path, name)), 0);
}

function copy(from, to) {
  need(from);
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, to, { recursive: true });
  copied.push([from, to, countFiles(to)]);
}

// Copy a dist stylesheet, pointing `/assets/` URLs at the assets folder beside it. The source map
// comment is dropped: the rewrite shifts columns, so the published map would no longer line up.
function copyCss(from, to) {
  need(from);
  const css = readFileSync(from, "utf8");
  const absolute = css.match(/url\(\s*["']?\/assets\//g) ?? [];
  const out = css
    .replace(/url\(\s*(["']?)\/assets\//g, "url($1assets/")
    .replace(/\n?\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "\n");
  if (/url\(\s*["']?\//.test(out)) {
    console.error(`build-assets: ${relative(root, from)} still has a root-absolute url() after rewriting`);
    process.exit(1);
  }
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, out);
  copied.push([from, to, 1, `${absolute.length} url(/assets/...) -> url(assets/...)`]);
}

const govuk = join(modules, "govuk-frontend", "dist", "govuk");
const moj = join(modules, "@ministryofjustice", "frontend", "moj");
const axe = join(modules, "axe-core");

for (const dir of ["govuk-frontend", "moj", "axe", "bpmn-io"]) rmSync(join(vendor, dir), { recursive: true, force: true });

// GOV.UK Frontend
copyCss(join(govuk, "govuk-frontend.min.css"), join(vendor, "govuk-frontend", "govuk-frontend.min.css"));
copy(join(govuk, "govuk-frontend.min.js"), join(vendor, "govuk-frontend", "govuk-frontend.min.js"));
copy(join(govuk, "govuk-frontend.min.js.map"), join(vendor, "govuk-frontend", "govuk-frontend.min.js.map"));
copy(join(govuk, "assets"), join(vendor, "govuk-frontend", "assets"));

// MOJ Frontend (its stylesheet refers to its own images under /assets/images/)
copyCss(join(moj, "moj-frontend.min.css"), join(vendor, "moj", "moj-frontend.min.css"));
copy(join(moj, "moj-frontend.min.js"), join(vendor, "moj", "moj-frontend.min.js"));
copy(join(moj, "moj-frontend.min.js.map"), join(vendor, "moj", "moj-frontend.min.js.map"));
copy(join(moj, "assets"), join(vendor, "moj", "assets"));

// axe-core, for accessibility checks in the browser tests
copy(join(axe, "axe.min.js"), join(vendor, "axe", "axe.min.js"));

// Every url() in the rewritten stylesheets must name a file that was copied.
for (const css of ["govuk-frontend/govuk-frontend.min.css", "moj/moj-frontend.min.css"]) {
  const file = join(vendor, css);
  for (const [, url] of readFileSync(file, "utf8").matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
    if (url.startsWith("data:")) continue;
    if (!existsSync(join(dirname(file), url.split(/[?#]/)[0]))) {
      console.error(`build-assets: ${css} refers to ${url}, which was not copied`);
      process.exit(1);
    }
  }
}

// bpmn.io editors. Entry modules are virtual (written here), so the only sources are npm packages.
const bpmnio = join(vendor, "bpmn-io");
const entries = {
  "bpmn-modeler": `export { default as Modeler } from "bpmn-js/lib/Modeler";
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";`,
  "bpmn-viewer": `export { default as NavigatedViewer } from "bpmn-js/lib/NavigatedViewer";`,
  "dmn-modeler": `export { default as DmnModeler } from "dmn-js/lib/Modeler";`,
};
const virtualEntries = {
  name: "virtual-entries",
  setup(build) {
    build.onResolve({ filter: /^entry:/ }, (args) => ({ path: args.path.slice(6), namespace: "entry" }));
    build.onLoad({ filter: /.*/, namespace: "entry" }, (args) => ({ contents: entries[args.path], resolveDir: root, loader: "js" }));
  },
};
// Patches that keep the bundles within the CSP (script-src 'self' without 'unsafe-eval'; style-src
// 'self' without 'unsafe-inline'). Each names the file, what it replaces, and fails the build if the
// package changed so that the patch no longer applies.
//  - dom-iterator (inlined in selection-ranges, which dmn-js uses for contenteditable cells) compiles
//    string selectors with `new Function`; selection-ranges only walks with next()/previous() (no
//    selector), so that branch never runs: it becomes a throw, and no bundle carries eval-like code.
//  - dmn-js draws the bpmn.io logo (which its licence says must stay visible) and its lightbox with
//    inline style attributes; bpmn-js-properties-panel gives its container style="height: 100%".
//    The decision table's drag image is a hidden <span style="...">. The attributes go (the span gets
//    a class), and app/static/modeller/modeller.css carries the same styles.
//  - style-mod (CodeMirror's styles, used by dmn-js's FEEL editors) writes a <style> element into a
//    document; we make it use a constructable stylesheet (adoptedStyleSheets), which CSP allows.
const cspPatches = [
  {
    file: /[\\/](selection-ranges[\\/]dist|dom-iterator)[\\/][^\\/]*\.js$/,
    edits: [[/return new Function\('node', 'Object\.freeze\(node\); return ' \+ props\(expr, 'node\.'\)\);/g,
      "throw new Error('dom-iterator: string selectors are disabled (CSP)');"]],
    refuse: /new Function/,
  },
  {
    file: /[\\/]dmn-js-shared[\\/]lib[\\/]util[\\/]PoweredByUtil\.js$/,
    edits: [[/ style="' \+ [A-Z_]+ \+ '"/g, ""], [/ ?style="[^"']*' \+ '"/g, ""], [/ ?style="[^"']*"/g, ""]],
    refuse: /style="/,
  },
  {
    file: /[\\/]bpmn-js-properties-panel[\\/]dist[\\/]index\.esm\.js$/,
    edits: [[/<div style="height: 100%" tabindex="-1"/g, '<div tabindex="-1"']],
    refuse: /<div style="/,
  },
  {
    file: /[\\/]dmn-js-decision-table[\\/]lib[\\/]features[\\/]drag-and-drop[\\/]DragAndDrop\.js$/,
    edits: [[/<span style="[^"]*"><\/span>/g, '<span class="app-dmn-drag-image"></span>']],
    refuse: /style="/,
  },
  {
    // The align/distribute menu icons: style="fill:…;stroke:…" become SVG presentation attributes.
    file: /[\\/]bpmn-js[\\/]lib[\\/]features[\\/](align|distribute)-elements[\\/](Align|Distribute)ElementsIcons\.js$/,
    edits: [[/ style="([^"]*)"/g, (_, css) => css.split(";").filter((d) => d.trim())
      .map((d) => { const [k, v] = d.split(":"); return ` ${k.trim()}="${v.trim()}"`; }).join("")]],
    refuse: /style="/,
  },
  {
    file: /[\\/]style-mod[\\/]src[\\/]style-mod\.js$/,
    edits: [[/if \(!root\.head && root\.adoptedStyleSheets && win\.CSSStyleSheet\)/g,
      "if (root.adoptedStyleSheets && win.CSSStyleSheet)"]],
    refuse: /!root\.head && root\.adoptedStyleSheets/,
  },
];
const patchesApplied = new Set();
const cspPatchPlugin = {
  name: "csp-patches",
  setup(build) {
    for (const [index, patch] of cspPatches.entries()) {
      build.onLoad({ filter: patch.file }, (args) => {
        let code = readFileSync(args.path, "utf8");
        const before = code;
        for (const [pattern, replacement] of patch.edits) code = code.replace(pattern, replacement);
        if (patch.refuse.test(code)) {
          console.error(`build-assets: ${relative(root, args.path)} still needs what the CSP forbids after patching`);
          process.exit(1);
        }
        if (code !== before) patchesApplied.add(index);
        return { contents: code, loader: "js" };
      });
    }
  },
};
const bundled = await esbuild.build({
  entryPoints: Object.fromEntries(Object.keys(entries).map((name) => [name, `entry:${name}`])),
  bundle: true,
  splitting: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  legalComments: "linked",
  outdir: bpmnio,
  chunkNames: "chunk-[hash]",
  define: { "process.env.NODE_ENV": '"production"' },
  plugins: [virtualEntries, cspPatchPlugin],
  logLevel: "error",
  metafile: true,
});
const outputs = Object.keys(bundled.metafile.outputs).filter((f) => f.endsWith(".js"));
for (const out of outputs) {
  const code = readFileSync(join(root, out), "utf8");
  // script-src 'self' has no 'unsafe-eval': refuse a bundle that would need it.
  if (/\beval\(|new Function\(/.test(code)) {
    console.error(`build-assets: ${out} calls eval or new Function, which the CSP forbids`);
    process.exit(1);
  }
  // style-src 'self' has no 'unsafe-inline': markup with style attributes would be blocked.
  if (/style="/.test(code)) {
    console.error(`build-assets: ${out} writes markup with a style attribute, which the CSP blocks`);
    process.exit(1);
  }
}
if (patchesApplied.size !== cspPatches.length) {
  const missing = cspPatches.filter((_, i) => !patchesApplied.has(i)).map((p) => String(p.file));
  console.error(`build-assets: CSP patches that matched nothing (package changed? check them): ${missing.join(", ")}`);
  process.exit(1);
}
copied.push(["node_modules (esbuild)", bpmnio, outputs.length, `${outputs.length} ES modules, ${patchesApplied.size} CSP patches`]);
const bpmnjs = join(modules, "bpmn-js", "dist", "assets");
const dmnjs = join(modules, "dmn-js", "dist", "assets");
copy(join(bpmnjs, "diagram-js.css"), join(bpmnio, "css", "diagram-js.css"));
copy(join(bpmnjs, "bpmn-js.css"), join(bpmnio, "css", "bpmn-js.css"));
copy(join(bpmnjs, "bpmn-font", "css", "bpmn.css"), join(bpmnio, "css", "bpmn-font", "css", "bpmn.css"));
copy(join(bpmnjs, "bpmn-font", "font"), join(bpmnio, "css", "bpmn-font", "font"));
copy(join(modules, "@bpmn-io", "properties-panel", "dist", "assets", "properties-panel.css"),
  join(bpmnio, "css", "properties-panel.css"));
for (const name of ["dmn-js-shared", "dmn-js-drd", "dmn-js-decision-table", "dmn-js-decision-table-controls",
  "dmn-js-literal-expression", "dmn-js-boxed-expression", "dmn-js-boxed-expression-controls"]) {
  copy(join(dmnjs, `${name}.css`), join(bpmnio, "css", `${name}.css`));
}
copy(join(dmnjs, "dmn-font", "css", "dmn.css"), join(bpmnio, "css", "dmn-font", "css", "dmn.css"));
copy(join(dmnjs, "dmn-font", "font"), join(bpmnio, "css", "dmn-font", "font"));
for (const css of ["bpmn-font/css/bpmn.css", "dmn-font/css/dmn.css"]) {
  const file = join(bpmnio, "css", css);
  for (const [, url] of readFileSync(file, "utf8").matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/g)) {
    if (!url.startsWith("data:") && !existsSync(join(dirname(file), url.split(/[?#]/)[0]))) {
      console.error(`build-assets: ${css} refers to ${url}, which was not copied`);
      process.exit(1);
    }
  }
}

const versions = Object.fromEntries(
  ["govuk-frontend", "@ministryofjustice/frontend", "axe-core", "bpmn-js", "dmn-js", "bpmn-js-properties-panel",
    "@bpmn-io/properties-panel"].map((name) => [
    name,
    JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version,
  ]),
);
writeFileSync(join(vendor, "versions.json"), JSON.stringify(versions, null, 2) + "\n");

for (const [from, to, files, note] of copied) {
  console.log(`copied ${relative(root, from)} -> ${relative(root, to)} (${files} file${files === 1 ? "" : "s"})${note ? `, ${note}` : ""}`);
}
console.log(`wrote ${relative(root, join(vendor, "versions.json"))}: ${JSON.stringify(versions)}`);
