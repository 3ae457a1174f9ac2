"""``labsim demo --web`` in a real headless Chromium, on a real ``labsim demo --web`` process.

Each test module's lab is a ``labsim demo --web`` of its own (the story, a hostile scenario
file, an Auto run); the trainer's window clicks Next, a second window (the projector) only
watches. Every wait is the browser driver's bounded wait or a bounded read of the process's
output; nothing sleeps.
"""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_helpers import LabsimProcess, no_traceback
from selenium.webdriver.common.by import By
from test_browser import snap, wait

from labsim.web.security import cookie_name

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>window.__xss="demo"</script>"><img src=x onerror="window.__xss=1">'


class WebDemo:
    """A ``labsim demo --web`` process and its console URL."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.process = LabsimProcess("demo", "--web", "--certs", str(tmp / "certs"), *args, cwd=tmp)
        try:
            self.banner = self.process.read_until("Ctrl-C stops the lab.")
        except BaseException:
            self.process.kill()
            raise
        found = re.search(r"web console\s+(\S+)", self.banner)
        assert found, self.banner
        self.url = found.group(1)
        self.base = self.url.split("/demo?", 1)[0]
        self.secret = self.url.split("?k=", 1)[1]

    def close(self) -> None:
        self.process.kill()


@pytest.fixture
def story(tmp_path: Path) -> Iterator[WebDemo]:
    """``labsim demo --web``: the article's story, walked by clicks."""
    demo = WebDemo(tmp_path)
    try:
        yield demo
    finally:
        demo.close()


def step_shown(browser: Any) -> int:
    """The number of the step on screen (0: the introduction)."""
    return int(browser.find_element(By.ID, "demo-step").get_attribute("data-step"))


def open_demo(browser: Any, demo: WebDemo) -> None:
    browser.get(demo.url)
    wait(browser, lambda b: b.find_elements(By.ID, "demo-bar"), "the demo view")
    wait(browser, lambda b: "live" in b.find_element(By.ID, "live-state").text, "event stream")


def click_next(browser: Any, number: int) -> None:
    """Click Next and wait until step ``number`` is on screen with its outcomes."""
    wait(
        browser,
        lambda b: (
            b.find_element(By.ID, "demo-next").is_enabled()
            and b.find_element(By.CSS_SELECTOR, "#demo-next-form input[name=step]").get_attribute(
                "value"
            )
            == str(number)
        ),
        f"Next offers step {number}",
    )
    browser.find_element(By.ID, "demo-next").click()
    wait(browser, lambda b: step_shown(b) == number, f"step {number} on screen")


def outcome_marks(browser: Any) -> list[tuple[str, str]]:
    """(class, text) of each expected outcome of the step on screen."""
    return [
        (li.get_attribute("class"), li.text)
        for li in browser.find_elements(By.CSS_SELECTOR, "#demo-outcomes li.outcome")
    ]


def post(demo: WebDemo, path: str, fields: dict[str, str], cookie: str | None) -> int:
    headers = {"Origin": demo.base}
    if cookie is not None:
        headers["Cookie"] = cookie
    request = urllib.request.Request(
        demo.base + path, data=urllib.parse.urlencode(fields).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def test_next_walks_the_story_and_the_projector_follows(browser: Any, story: WebDemo) -> None:
    open_demo(browser, story)
    trainer = browser.current_window_handle
    browser.switch_to.new_window("window")
    projector = browser.current_window_handle
    open_demo(browser, story)
    # A page that reloads loses this; one that follows through its event stream keeps it.
    browser.execute_script("window.__projector = 'kept';")
    assert step_shown(browser) == 0
    total = 6
    titles: list[str] = []
    for number in range(1, total + 1):
        browser.switch_to.window(trainer)
        click_next(browser, number)
        marks = outcome_marks(browser)
        assert marks and all("ok" in cls.split() for cls, _ in marks), marks
        titles.append(browser.find_element(By.CSS_SELECTOR, "#demo-step h1").text)
        if number == 1:
            snap(browser, "demo-step-1")
            browser.switch_to.window(projector)
            wait(browser, lambda b: step_shown(b) == 1, "the projector shows step 1")
            assert browser.execute_script("return window.__projector;") == "kept"
    assert "Article step 4" in titles[-1]
    # The last step: both messages domain secured, each ✔ with its text alternative.
    browser.switch_to.window(trainer)
    marks = outcome_marks(browser)
    secured = [text for _, text in marks if "domain secured" in text]
    assert len(secured) == 2, marks
    held = browser.find_elements(By.CSS_SELECTOR, "#demo-outcomes .mark.ok[aria-label='held']")
    assert len(held) == len(marks)
    messages = browser.find_elements(By.CSS_SELECTOR, "#demo-mail .demo-message")
    assert [m.get_attribute("data-outcome") for m in messages] == ["delivered-secured"] * 2
    last = messages[-1]
    diagram = last.find_element(By.CSS_SELECTOR, ".figure svg").get_attribute("textContent")
    assert "CN=mail.adatum.com" in diagram and "CN=mail.treyresearch.net" in diagram
    link = last.find_element(By.PARTIAL_LINK_TEXT, "open the message").get_attribute("href")
    assert "/messages/" in link
    end = browser.find_element(By.ID, "demo-end").text
    assert "Every outcome held" in end and "stays up until Ctrl-C" in end
    assert not browser.find_element(By.ID, "demo-next").is_enabled()
    snap(browser, "demo-last-step")
    # The projector followed to the end, without a reload.
    browser.switch_to.window(projector)
    wait(browser, lambda b: b.find_elements(By.ID, "demo-end"), "the projector shows the end")
    assert step_shown(browser) == total
    assert browser.execute_script("return window.__projector;") == "kept"
    browser.close()
    browser.switch_to.window(trainer)
    # The message page the link leads to works, and the lab is still up for the other views.
    browser.get(link)
    wait(browser, lambda b: b.find_elements(By.ID, "sequence"), "the message page")
    # The terminal: one line per step, then the lab stays up until Ctrl-C.
    out = story.process.read_until("Ctrl-C stops it.")
    for number in range(1, total + 1):
        assert re.search(rf"^step {number}/{total} · .*: ✔", out, re.M), out
    assert "every outcome held. The lab stays up" in out
    status, rest, err = story.process.stop(signal.SIGINT)
    no_traceback(err)
    assert status == 0, (rest, err)
    assert "stopped" in rest


def test_next_needs_the_secret_and_csrf_and_a_late_next_runs_nothing_twice(
    tmp_path: Path,
) -> None:
    demo = WebDemo(tmp_path, "--chapter", "self-signed")
    try:
        port = int(demo.base.rsplit(":", 1)[1])
        cookie = f"{cookie_name(port)}={demo.secret}"
        # No secret at all; the secret but no CSRF token; a wrong token: 403, nothing runs.
        assert post(demo, "/demo/next", {"step": "1"}, None) == 403
        assert post(demo, "/demo/next", {"step": "1"}, cookie) == 403
        assert post(demo, "/demo/next", {"step": "1", "csrf": "x" * 64}, cookie) == 403
        assert post(demo, "/demo/auto", {"auto": "on"}, None) == 403
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(demo.url, timeout=60) as answer:
            page = answer.read().decode()
        assert 'data-step="0"' in page and "Step 0 of 4" in page
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf
        for _ in range(2):  # a double click: both name step 1
            request = urllib.request.Request(
                demo.base + "/demo/next",
                data=urllib.parse.urlencode({"csrf": csrf.group(1), "step": "1"}).encode(),
                headers={"Origin": demo.base},
            )
            with opener.open(request, timeout=120) as answer:
                page = answer.read().decode()
        assert 'data-step="1"' in page and "Step 1 of 4" in page
        assert 'name="step" value="2"' in page
        status, rest, err = demo.process.stop(signal.SIGINT)
        out = demo.process.output
        assert "step 1/4" in out and "step 2/" not in out, out
        no_traceback(err)
        assert status == 0, (rest, err)
    finally:
        demo.close()


def test_auto_mode_advances_without_clicks_and_the_toggle_stops_it(
    browser: Any, tmp_path: Path
) -> None:
    demo = WebDemo(tmp_path, "--chapter", "self-signed", "--auto", "0.5")
    try:
        assert "Auto runs a step every 0.5 s" in demo.banner
        open_demo(browser, demo)
        wait(browser, lambda b: step_shown(b) >= 2, "Auto ran two steps without a click")
        pressed = browser.find_element(By.ID, "demo-auto").get_attribute("aria-pressed")
        assert pressed == "true"
        # Auto ends with the chapter; the toggle is off when clicked (done or not).
        wait(browser, lambda b: b.find_elements(By.ID, "demo-end"), "Auto ran to the end")
        browser.find_element(By.ID, "demo-auto").click()
        wait(
            browser,
            lambda b: b.find_element(By.ID, "demo-auto").get_attribute("aria-pressed") == "false",
            "Auto turned off",
        )
        out = demo.process.read_until("Ctrl-C stops it.")
        assert "step 1/4" in out and "step 4/4" in out and "✔ every outcome held" in out, out
    finally:
        demo.close()


def test_a_hostile_scenario_stays_inert_in_the_demo(browser: Any, tmp_path: Path) -> None:
    scenario = tmp_path / "hostile.toml"
    quoted = '"' + HOSTILE.replace("\\", "\\\\").replace('"', '\\"') + '"'
    scenario.write_text(
        f"""# {HOSTILE} narration
title = "Hostile"
lab = "default"

[[step]]   # caption {HOSTILE}
org = "Adatum"
ems = 'New-SendConnector -Name Internet -Internet -AddressSpaces * -SourceTransportServers ADATUM-MBX1'

[[step]]
send = {{ from = "april@adatum.com", to = ["ben@treyresearch.net"], subject = {quoted} }}

[[step]]
expect.delivered = {{ to = "ben@treyresearch.net", subject = {quoted} }}

[[step]]   # a story that does not hold: shown as it would be on the terminal
expect.delivered = {{ to = "ben@treyresearch.net", subject = "never sent", domain_secured = true }}
""",
        encoding="utf-8",
    )
    demo = WebDemo(tmp_path, str(scenario))
    try:
        open_demo(browser, demo)
        assert HOSTILE in browser.find_element(By.ID, "demo-step").text
        click_next(browser, 1)
        while browser.find_element(By.ID, "demo-next").is_enabled():
            click_next(browser, step_shown(browser) + 1)
        text = browser.find_element(By.ID, "main").text
        assert HOSTILE in text
        assert browser.execute_script("return window.__xss;") is None
        # The outcome that did not hold: ✘ with its text alternative and the explanation.
        failed = browser.find_elements(By.CSS_SELECTOR, "#demo-outcomes li.outcome.fail")
        assert len(failed) == 1 and "'never sent' delivered" in failed[0].text, "\n---\n".join(
            f.text for f in failed
        )
        assert failed[0].find_elements(By.CSS_SELECTOR, ".mark[aria-label='did not hold']")
        assert failed[0].find_elements(By.CSS_SELECTOR, "ul.details li")
        assert "Some outcomes differed" in browser.find_element(By.ID, "demo-end").text
        assert not browser.find_elements(By.CSS_SELECTOR, "#main script, #main img")
        browser.get(demo.base + "/demo?step=1")
        wait(browser, lambda b: step_shown(b) == 1, "step 1 again")
        assert browser.execute_script("return window.__xss;") is None
        snap(browser, "demo-hostile")
        out = demo.process.read_until("Ctrl-C stops it.")
        assert re.search(r"^step \d+/\d+ · .*: ✘ 1 of", out, re.M), out
        status, rest, err = demo.process.stop(signal.SIGINT)
        no_traceback(err)
        assert status == 1, (rest, err)
    finally:
        demo.close()
