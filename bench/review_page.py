"""The review page: a key press to the next image shown, median and 95th percentile over 50
answers, in headless Chromium with the browser tests' machinery (`local.browser`, the page
served in this process over moto's server).

The clock runs in the page: `performance.now()` at the keydown (a listener that runs before the
page's own), and again once the next item's image has been decoded and a frame drawn with it.
Each key is pressed once the image before it is shown and the next one is in the browser (the
page fetches the next item and its image while a person looks at the current one, which the
goal assumes; a person takes far longer than that). The page runs with a person's settings:
the 10-second undo window included, so answers are carried out while the run goes on.
"""

import statistics

from selenium.webdriver.support.ui import WebDriverWait

from bench.figures import Figure, milliseconds, not_measurable
from bench.workspace import synthetic_data
from local import browser
from local.emulation.moto_server import moto_server
from local.emulation.review import LocalReview
from operations.review_page import ReviewPage

ANSWERS = 50
GOAL_MS = 100.0  # at the 95th percentile
SECTION = "review"
SUBJECT = f"key to next image, median / p95 ({ANSWERS})"
# Added to the page before any key: one sample a key press, in milliseconds, in __shownMs.
PROBE = """
window.__shownMs = [];
let pressedAt = null;
document.addEventListener("keydown", () => { pressedAt = performance.now(); }, true);
const item = document.getElementById("item");
new MutationObserver(() => {
  const img = item.querySelector("img.photo");
  if (pressedAt === null || !img || !img.getAttribute("src")) return;
  const started = pressedAt;
  pressedAt = null;
  img.decode().then(() => requestAnimationFrame(
    () => window.__shownMs.push(performance.now() - started)));
}).observe(item, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
"""


def measure(repeats: int) -> list[Figure]:
    """`repeats` is the cold-start sections'; this figure is always over ANSWERS answers."""
    reason = browser.missing()
    if reason:
        return [not_measurable(SECTION, SUBJECT, f"p95 <= {GOAL_MS:.0f} ms", reason)]
    samples = key_to_image_ms()
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20, method="inclusive")[-1]
    value = f"{milliseconds(median)} / {milliseconds(p95)} ms = {p95 / GOAL_MS:.2f}x"
    return [Figure(SECTION, SUBJECT, value, f"p95 <= {GOAL_MS:.0f} ms", p95 <= GOAL_MS)]


def key_to_image_ms() -> list[float]:
    """ANSWERS key presses on a page over ANSWERS + 1 items, each timed in the page."""
    images = sorted((synthetic_data() / "test").rglob("*.png"))[: ANSWERS + 1]
    with moto_server() as moto_url:
        local = LocalReview(moto_url)
        for image in images:
            local.send(f"incoming/{image.name}", image.read_bytes())
        with ReviewPage(local.reviewer()) as page, browser.chromium() as driver:
            driver.get(page.url)
            wait = WebDriverWait(driver, browser.WAIT_SECONDS, poll_frequency=0.01)
            wait.until(lambda d: d.execute_script(IMAGE_SHOWN), "the first image")
            driver.execute_script(PROBE)
            for answered in range(ANSWERS):
                fetched = answered + 2  # every image shown so far, and the next one's
                wait.until(lambda d, n=fetched: d.execute_script(IMAGES_FETCHED) >= n, "ahead")
                browser.press(driver, "1")
                wait.until(lambda d, n=answered: d.execute_script(SHOWN_COUNT) > n, "an image")
            return driver.execute_script("return window.__shownMs;")


IMAGE_SHOWN = "const img = document.querySelector('#item img.photo'); return !!img && img.complete"
SHOWN_COUNT = "return window.__shownMs.length;"
IMAGES_FETCHED = (
    "return performance.getEntriesByType('resource')"
    ".filter((e) => e.name.includes('/images/')).length;"
)
