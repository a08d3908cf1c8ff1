"""The staff page in a real headless Chromium: type a question, see the cited answer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from tests.test_api import app_settings
from tools.load_test import serve_in_thread

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def server_url(tmp_path: Path) -> Iterator[str]:
    settings = app_settings(tmp_path)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    app = create_app(settings, assistant)
    with serve_in_thread(app) as url:
        yield url


def test_staff_page_shows_a_cited_answer(server_url: str, tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium + chromium-driver not installed (.ci/run installs them)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chrome'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.get(server_url + "/")
        wait = WebDriverWait(driver, 20)
        wait.until(ec.text_to_be_present_in_element((By.ID, "documents"), "Reglas A 2014"))
        driver.find_element(By.ID, "question").send_keys("cuanto es el apoyo por pescador")
        driver.find_element(By.ID, "ask").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "answer"), "8,000 pesos"))
        assert "Lineamientos de Pesca 2014" in driver.find_element(By.ID, "citations").text
        driver.find_element(By.ID, "search").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "passages"), "puntaje"))
        driver.save_screenshot(str(tmp_path / "staff-page.png"))
    finally:
        driver.quit()
