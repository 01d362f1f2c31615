// The only script the pages load (CSP: script-src 'self'; no inline scripts anywhere).
// Loaded with <script type="module">: browsers without ES modules skip it and keep the
// no-JavaScript version of every component.
import { initAll as initGovukFrontend } from "./vendor/govuk-frontend/govuk-frontend.min.js";
import { initAll as initMojFrontend } from "./vendor/moj/moj-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");

// Radios that reveal a follow-up question, in a form group marked data-app-reveal (the public
// referral form). GOV.UK Frontend's own reveal puts aria-expanded on the radio inputs, which ARIA
// does not allow there (axe: aria-allowed-attr), so these reveal without it: the revealed question
// follows its radio, and is hidden again when another answer is chosen.
function initReveals() {
  for (const group of document.querySelectorAll("[data-app-reveal]")) {
    const inputs = Array.from(group.querySelectorAll("input[type=radio][data-aria-controls]"));
    for (const input of inputs) {
      // without (data-)aria-controls GOV.UK Frontend leaves this radio alone
      input.setAttribute("data-app-controls", input.getAttribute("data-aria-controls"));
      input.removeAttribute("data-aria-controls");
    }
    const radios = Array.from(group.querySelectorAll("input[type=radio]"));
    const sync = () => {
      for (const input of radios) {
        const target = document.getElementById(input.getAttribute("data-app-controls") || "");
        if (target) target.classList.toggle("govuk-radios__conditional--hidden", !input.checked);
      }
    };
    for (const input of radios) input.addEventListener("change", sync);
    window.addEventListener("pageshow", sync);  // back/forward cache keeps the checked radio
    sync();
  }
}

initReveals();
initGovukFrontend();
initMojFrontend();
