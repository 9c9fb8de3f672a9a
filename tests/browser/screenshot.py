"""The README's picture of the review page, taken with the browser tests' machinery:

    .venv/bin/python -m tests.browser.screenshot docs/review-page.png

Three of the SYNTHETIC archive's test images wait for review; the first is answered bicycle,
so the picture shows the second with that answer inside its undo window.
"""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from selenium.webdriver.support.ui import WebDriverWait

from bench.workspace import synthetic_data
from local import browser
from local.emulation.moto_server import moto_server
from local.emulation.review import LocalReview
from operations.review_page import ReviewPage

IMAGES = 3
SHOWN = (
    "const img = document.querySelector('#item img.photo');"
    "return !!img && img.complete && img.naturalWidth > 0 && !!document.querySelector('.pending');"
)


def take(path: Path) -> None:
    images = sorted((synthetic_data() / "test").rglob("*.png"))[:IMAGES]
    with moto_server() as moto_url:
        local = LocalReview(moto_url)
        local.send(f"incoming/{images[0].name}", images[0].read_bytes(), inferences=(0.41, 0.59))
        for image in images[1:]:
            local.send(f"incoming/{image.name}", image.read_bytes(), inferences=(0.77, 0.23))
        with ReviewPage(local.reviewer()) as page, browser.chromium() as driver:
            driver.get(page.url)
            wait = WebDriverWait(driver, browser.WAIT_SECONDS)
            wait.until(lambda d: d.execute_script(SHOWN.split("&& !!document")[0] + ";"))
            browser.press(driver, "1")
            wait.until(lambda d: d.execute_script(SHOWN), "the next image, one answer pending")
            path.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(path))
            driver.get("about:blank")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshot")
    parser.add_argument("path", type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    reason = browser.missing()
    if reason:
        print(f"error: {reason}", file=sys.stderr)
        return 1
    take(args.path)
    print(args.path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
