#!/usr/bin/env node
// Copies the front-end files the pages need from node_modules into app/static/vendor/.
//
//   app/static/vendor/govuk-frontend/  govuk-frontend.min.css, govuk-frontend.min.js (ES module) + map,
//                                      assets/ (fonts, images, manifest.json)
//   app/static/vendor/moj/             moj-frontend.min.css, moj-frontend.min.js (ES module) + map, assets/
//   app/static/vendor/axe/axe.min.js   axe-core, only for the browser tests
//
// Both dist stylesheets point at fonts and images with root-absolute URLs (`url(/assets/...)`).
// We rewrite those to URLs relative to the stylesheet (`url(assets/...)`), so that they resolve to
// the copied assets/ folder beside each stylesheet under /static/ and no `/assets/` route is needed.
//
// Idempotent: each output folder is removed and written afresh. Run with `npm run build`.
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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

for (const dir of ["govuk-frontend", "moj", "axe"]) rmSync(join(vendor, dir), { recursive: true, force: true });

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

const versions = Object.fromEntries(
  ["govuk-frontend", "@ministryofjustice/frontend", "axe-core"].map((name) => [
    name,
    JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version,
  ]),
);
writeFileSync(join(vendor, "versions.json"), JSON.stringify(versions, null, 2) + "\n");

for (const [from, to, files, note] of copied) {
  console.log(`copied ${relative(root, from)} -> ${relative(root, to)} (${files} file${files === 1 ? "" : "s"})${note ? `, ${note}` : ""}`);
}
console.log(`wrote ${relative(root, join(vendor, "versions.json"))}: ${JSON.stringify(versions)}`);
