"""Headless Chromium (Debian's chromium + chromium-driver) for tests that check a page draws its plotly charts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000", "--enable-unsafe-swiftshader"]


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        yield driver
    finally:
        driver.quit()


def drawn_charts(browser: webdriver.Chrome, page: Path, at_least: int) -> list[str]:
    """Open `page` and wait until at least `at_least` plotly charts are drawn; the type of each chart's first trace."""
    browser.get(page.as_uri())
    WebDriverWait(browser, 60).until(
        lambda d: d.execute_script(
            "const divs = [...document.querySelectorAll('.plotly-graph-div')];"
            f"return divs.length >= {at_least} && divs.every(div => div.querySelector('.main-svg') && div.data.length)"
        )
    )
    return browser.execute_script("return [...document.querySelectorAll('.plotly-graph-div')].map(d => d.data[0].type)")
