"""report.html in a real headless browser (Debian's chromium and chromedriver, driven by selenium): it loads without
console errors, a click on a column header reorders the rows as pandas sorts that column, hostile names stay text,
and a screenshot is saved for CI's output (results/ci-screenshots/report.png)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pandas
import pytest

from helpers.cli import invoke
from helpers.fixture_files import HOSTILE_CELL, HOSTILE_ERROR, HOSTILE_TASK, copy_fixture, rewrite

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (it is in the dev extras)")
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="Debian's chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")]

SCREENSHOT = Path(__file__).parents[2] / "results" / "ci-screenshots" / "report.png"
# The number a sortable cell starts with ("0.87 ± 0.02", "[0.29, 0.98]", "1 (apple)"), read here independently
# of the page's script.
LEADING_NUMBER = r"^\s*\[?\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--window-size=1280,2000")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def reported(run_dir: Path) -> Path:
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    return run_dir / "report.html"


def opened(browser, page: Path) -> list[dict]:
    """Open `page` and return what the browser logged while loading it."""
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(page.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    return browser.get_log("browser")


def table_after(browser, heading: str, header: str):
    """The first table after the heading with text `heading`, and its header cell `header`."""
    from selenium.webdriver.common.by import By

    table = browser.find_element(By.XPATH, f"//h2[normalize-space()='{heading}']/following::table[1]")
    headers = [cell.text for cell in table.find_elements(By.CSS_SELECTOR, "thead th")]
    return table, table.find_elements(By.CSS_SELECTOR, "thead th")[headers.index(header)], headers


def body_rows(table) -> list[list[str]]:
    from selenium.webdriver.common.by import By

    return [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def pandas_sorted(rows: list[list[str]], headers: list[str], column: str, ascending: bool) -> list[list[str]]:
    """The rows sorted as a reader expects: by the column's leading number (rows without one last), stable."""
    frame = pandas.DataFrame(rows, columns=headers)
    key = pandas.to_numeric(frame[column].str.extract(LEADING_NUMBER)[0])
    order = key.sort_values(ascending=ascending, na_position="last", kind="stable").index
    return frame.loc[order].values.tolist()


def test_report_loads_cleanly_sorts_on_header_click_and_is_screenshot(browser, tmp_path):
    page = reported(copy_fixture("base", tmp_path))
    assert opened(browser, page) == []  # no console errors, nor anything the policy refused to load
    assert browser.title == "benchsuite report: base"
    images = browser.execute_script("return Array.from(document.images, i => [i.src.slice(0, 22), i.naturalWidth])")
    assert images and all(source == "data:image/png;base64," and width > 0 for source, width in images)

    # the fixture sweeps nothing, so its page has no Tuned table: sort a task's summary table (one row per variant)
    table, accuracy, headers = table_after(browser, "ship", "accuracy")
    before = body_rows(table)
    runs = pandas.read_csv(page.parent / "runs.csv")
    assert len(before) == len(runs[runs["task"] == "ship"][["cell", "num_layers", "hidden_size"]].drop_duplicates())
    accuracy.click()
    ascending = body_rows(table)
    assert ascending == pandas_sorted(before, headers, "accuracy", ascending=True) and ascending != before
    accuracy.click()
    assert body_rows(table) == pandas_sorted(before, headers, "accuracy", ascending=False)
    assert browser.get_log("browser") == []

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(SCREENSHOT)) and SCREENSHOT.stat().st_size > 10_000


def test_hostile_names_show_as_text_and_run_nothing(browser, tmp_path):
    run_dir = copy_fixture("base", tmp_path)

    def hostile(index: int, row: dict) -> dict:
        row = {**row, "task": HOSTILE_TASK, "cell": HOSTILE_CELL}
        return {**row, "status": "error", "error": HOSTILE_ERROR} if index == 0 else row

    rewrite(run_dir, hostile)
    assert opened(browser, reported(run_dir)) == []
    from selenium.webdriver.common.by import By

    # Only the plots are images; the one script is the page's own; the injected heading is no heading.
    assert len(browser.find_elements(By.TAG_NAME, "img")) == len(list(run_dir.glob("*.png")))
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 1
    assert "injected heading" not in [heading.text for heading in browser.find_elements(By.TAG_NAME, "h1")]
    text = browser.find_element(By.TAG_NAME, "body").text
    for shown in ("<img src=x onerror=alert(1)> # injected heading", "![remote](http://attacker.example/pixel.png)",
                  "<script>alert(1)</script> 1. a list"):
        assert shown in text
