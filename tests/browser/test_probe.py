from tests.browser.conftest import LiveFlow as Flow
from tests.browser.conftest import axe_check

def test_probe(site, client):
    flow = Flow(client, channel="phone")
    task = flow.task("masho", "record_contact")
    page = site.sign_in("masho")
    for path in ["/", "/refer", f"/tasks/{task['id']}", f"/cases/{flow.instance_id}", "/inbox"]:
        page.goto(site.url(path))
        try:
            axe_check(page)
        except AssertionError as e:
            print(str(e))
    page.goto(site.url(f"/tasks/{task['id']}"))
    print(page.evaluate("""() => [...document.querySelectorAll('label, legend, button')].map(e => e.tagName + ': ' + e.innerText.trim().replace(/\\s+/g,' ')).join('\\n')"""))
