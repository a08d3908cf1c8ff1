"""The staff page in a real headless Chromium: type a question, see the cited answer; answer a queued
question in the review tab and see it served to a paraphrase; no horizontal scrolling at 1280 px or on a phone."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from tests.test_api import TOKEN, app_settings
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


def _no_horizontal_scroll(driver: Any) -> bool:
    return bool(driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"))


def _shot(driver: Any, tmp_path: Path, name: str) -> None:
    """Screenshots go to tmp_path; with CAMPO_SCREENSHOTS_DIR set (docs/review.md) also there."""
    driver.save_screenshot(str(tmp_path / name))
    target = os.environ.get("CAMPO_SCREENSHOTS_DIR")
    if target:
        shutil.copyfile(tmp_path / name, Path(target) / name)


def test_review_tab_answers_a_queued_question_end_to_end(server_url: str, tmp_path: Path) -> None:
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed")
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("Debian chromium + chromium-driver not installed (.ci/run installs them)")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    question = "¿Hay seguro contra granizo para mis magueyes?"
    for _ in range(2):  # two producers ask: one item with count 2
        assert httpx.post(server_url + "/v1/ask", json={"question": question}).json()["abstained"]
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--window-size=1280,900"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chrome'}")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    try:
        driver.get(server_url + "/")
        wait = WebDriverWait(driver, 30)
        wait.until(ec.text_to_be_present_in_element((By.ID, "documents"), "Reglas A 2014"))
        assert _no_horizontal_scroll(driver)
        driver.find_element(By.ID, "tab-review").click()
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "reviewer").send_keys("Lucía Pérez")
        driver.find_element(By.ID, "load-queue").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "queue"), "granizo"))
        assert driver.find_element(By.CSS_SELECTOR, "#queue .count").text == "2"
        assert "En cola: 1 (2 preguntas)" in driver.find_element(By.ID, "review-stats").text
        _shot(driver, tmp_path, "review-queue.png")
        driver.find_element(By.CSS_SELECTOR, ".answer-item").click()
        answer = "No. Estas reglas no cubren seguros <agrícolas>; pregunte en la ventanilla."
        driver.find_element(By.ID, "review-answer").send_keys(answer)
        assert driver.find_element(By.ID, "counter").text == f"{len(answer)} / 1500 caracteres"
        driver.find_element(By.ID, "variants").send_keys("¿me aseguran el maguey si cae granizo?")
        driver.find_element(By.ID, "rule-query").send_keys("objeto cadenas de valor")
        driver.find_element(By.ID, "rule-search").click()
        wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".cite-this"))).click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "chosen"), "Reglas A 2014"))
        driver.find_element(By.ID, "publish").click()  # HTML is refused: a clear message, nothing written
        wait.until(ec.text_to_be_present_in_element((By.ID, "job-status"), "HTML"))
        box = driver.find_element(By.ID, "review-answer")
        box.clear()
        box.send_keys(answer.replace("<", "").replace(">", ""))
        _shot(driver, tmp_path, "review-editor.png")
        driver.find_element(By.ID, "publish").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "job-status"), "publicada"))
        wait.until(ec.text_to_be_present_in_element((By.ID, "review-stats"), "Respondidas: 1"))
        _shot(driver, tmp_path, "review-published.png")

        driver.find_element(By.ID, "tab-ask").click()
        driver.find_element(By.ID, "question").send_keys("¿me aseguran el maguey si cae granizo?")
        driver.find_element(By.ID, "ask").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "answer"), "Respuesta revisada por el personal"))
        assert "Reglas A 2014" in driver.find_element(By.ID, "citations").text
        _shot(driver, tmp_path, "review-served.png")
        driver.set_window_size(390, 844)  # a phone
        assert _no_horizontal_scroll(driver)
        driver.find_element(By.ID, "tab-review").click()
        assert _no_horizontal_scroll(driver)
        _shot(driver, tmp_path, "review-phone.png")
    finally:
        driver.quit()
