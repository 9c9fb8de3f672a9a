"""The review page in a real browser: headless Chromium (local.browser) driving the page, served
in this process over moto's server with the template's review queue and the two buckets.

One browser for the module; moto is reset before each test and each test serves its own pages.
Skipped, with the reason, where Chromium, its driver or Selenium is missing; REQUIRE_BROWSER=1
(CI) makes that a failure instead."""

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from local import browser as local_browser
from local.emulation.moto_server import moto_server
from local.emulation.review import LocalReview, reset
from operations.review_page import ReviewPage
from operations.review_sessions import Settings

# Short windows, so that a test waits fractions of a second where a person has ten.
QUICK = Settings(
    hold_seconds=30,
    undo_seconds=1.0,  # room for a key press after the answer's
    skip_delay_seconds=120,
    idle_seconds=60,
    tick_seconds=0.5,
    poll_seconds=0.3,
)


def cannot_run(reason: str) -> None:
    """Skip, or fail where the browser must run (REQUIRE_BROWSER=1)."""
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1, but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    reason = local_browser.missing()
    if reason:
        cannot_run(reason)
    with local_browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def local(moto_url: str) -> LocalReview:
    """An empty review queue and buckets: moto reset first."""
    reset(moto_url)
    return LocalReview(moto_url)


@pytest.fixture
def serve(local: LocalReview, browser) -> Iterator[Callable[..., ReviewPage]]:
    """Serve a page (`serve(settings, reviewer)`) for the test; the browser leaves it first."""
    with ExitStack() as stack:

        def served(settings: Settings = QUICK, reviewer=None) -> ReviewPage:
            page = ReviewPage(reviewer or local.reviewer(), settings=settings)
            return stack.enter_context(page)

        yield served
        for handle in browser.window_handles[1:]:
            browser.switch_to.window(handle)
            browser.close()
        browser.switch_to.window(browser.window_handles[0])
        browser.get("about:blank")  # the page's tab says goodbye while the page still listens
