// The only script the pages load (CSP: script-src 'self'; no inline scripts anywhere).
// Loaded with <script type="module">: browsers without ES modules skip it and keep the
// no-JavaScript version of every component.
import { initAll as initGovukFrontend } from "./vendor/govuk-frontend/govuk-frontend.min.js";
import { initAll as initMojFrontend } from "./vendor/moj/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");

initGovukFrontend();
initMojFrontend();
