"""A headless Chromium driven by Selenium, for the review page's browser tests, its bench and its
screenshot: Debian's `chromium` and `chromium-driver` packages. Nothing is downloaded: naming
the driver keeps Selenium Manager from looking for one.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1000, 700)  # room for the 384-pixel image beside what is said about it
WAIT_SECONDS = 10  # the longest any wait for the page may take before it fails


def missing() -> str | None:
    """Why no browser can be driven here; None when one can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"no {path}: apt-get install chromium chromium-driver"
    try:
        import selenium  # noqa: F401 (a dev requirement: only its presence is asked)
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


@contextmanager
def chromium(window: tuple[int, int] = WINDOW) -> Iterator[Any]:
    """A headless Chromium's WebDriver, quit on the way out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.add_argument("--headless=new")
    options.add_argument(f"--window-size={window[0]},{window[1]}")
    options.add_argument("--disable-dev-shm-usage")  # containers' /dev/shm is small
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def press(driver: Any, keys: str) -> None:
    """Type `keys` into the page as a person would: key events on whatever has the focus."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(keys).perform()
