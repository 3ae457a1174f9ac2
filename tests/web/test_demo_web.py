"""``labsim demo --web`` in a real headless Chromium, on a real ``labsim demo --web`` process.

Each test's lab is a ``labsim demo --web`` of its own (the story, the traps' five chapters, a
hostile scenario file, an Auto run); the trainer's window clicks Next, a second window (the
projector) only watches. Every wait is the browser driver's bounded wait or a bounded read of the process's
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
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from test_browser import snap
from test_browser import wait as browser_wait

from labsim.control import ControlClient, running_labs, state_folder
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


def replaced(err: WebDriverException) -> bool:
    """A live refresh replaced the element between finding and using it (chromium says so
    in either of two ways)."""
    return isinstance(err, StaleElementReferenceException) or (
        "does not belong to the document" in str(err)
    )


def wait(browser: Any, condition: Any, message: str) -> Any:
    """The browser tests' bounded wait, asking again when a live refresh replaced what the
    condition was reading."""

    def guarded(b: Any) -> Any:
        try:
            return condition(b)
        except WebDriverException as err:
            if replaced(err):
                return False
            raise

    return browser_wait(browser, guarded, message)


def steady(browser: Any, read: Any) -> Any:
    """``read(browser)``, read again if a live refresh replaced the view while it read."""
    got: list[Any] = []
    wait(browser, lambda b: got.append(read(b)) or True, "a steady read of the view")
    return got[-1]


def view_text(browser: Any, css: str) -> str:
    """The text of the element ``css`` finds (read steadily)."""
    return str(steady(browser, lambda b: b.find_element(By.CSS_SELECTOR, css).text))


def step_shown(browser: Any) -> int:
    """The number of the step on screen (0: the introduction)."""
    return int(browser.find_element(By.ID, "demo-step").get_attribute("data-step"))


def chapter_shown(browser: Any) -> int:
    """The number of the chapter on screen."""
    return int(browser.find_element(By.ID, "demo-step").get_attribute("data-chapter"))


def chapter_states(browser: Any) -> list[str]:
    """Where each chapter of the table of contents stands (done, current, to come)."""
    return list(
        steady(
            browser,
            lambda b: [
                str(li.get_attribute("data-state"))
                for li in b.find_elements(By.CSS_SELECTOR, "#demo-chapters li.chapter")
            ],
        )
    )


def open_demo(browser: Any, demo: WebDemo) -> None:
    browser.get(demo.url)
    wait(browser, lambda b: b.find_elements(By.ID, "demo-bar"), "the demo view")
    wait(browser, lambda b: "live" in b.find_element(By.ID, "live-state").text, "event stream")


def press(browser: Any, element_id: str, message: str) -> None:
    """Click a button of the view once it is there: a live refresh may replace it between
    finding and clicking it (that click never reached the page, so it is made again)."""

    # The wait asks again when the button was replaced mid-click (that click never landed).
    wait(browser, lambda b: b.find_element(By.ID, element_id).click() or True, message)


def offered(browser: Any) -> tuple[str, str]:
    """(chapter, step) the Next button names."""
    return tuple(  # type: ignore[return-value]
        browser.find_element(By.CSS_SELECTOR, f"#demo-next-form input[name={name}]").get_attribute(
            "value"
        )
        for name in ("chapter", "step")
    )


def click_next(browser: Any, number: int, chapter: int = 1) -> None:
    """Click Next and wait until step ``number`` of ``chapter`` is on screen (step 0: the
    chapter's introduction, Next having opened it)."""
    wait(
        browser,
        lambda b: (
            b.find_element(By.ID, "demo-next").is_enabled()
            and offered(b) == (str(chapter), str(number))
        ),
        f"Next offers chapter {chapter}, step {number}",
    )
    press(browser, "demo-next", f"Next clicked for chapter {chapter}, step {number}")
    wait(
        browser,
        lambda b: (chapter_shown(b), step_shown(b)) == (chapter, number),
        f"chapter {chapter}, step {number} on screen",
    )


def outcome_marks(browser: Any) -> list[tuple[str, str]]:
    """(class, text) of each expected outcome of the step on screen."""
    return list(
        steady(
            browser,
            lambda b: [
                (li.get_attribute("class"), li.text)
                for li in b.find_elements(By.CSS_SELECTOR, "#demo-outcomes li.outcome")
            ],
        )
    )


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
        titles.append(view_text(browser, "#demo-step h1"))
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
    held = steady(
        browser,
        lambda b: len(
            b.find_elements(By.CSS_SELECTOR, "#demo-outcomes .mark.ok[aria-label='held']")
        ),
    )
    assert held == len(marks)

    def mail(b: Any) -> tuple[list[str], str, str]:
        messages = b.find_elements(By.CSS_SELECTOR, "#demo-mail .demo-message")
        last = messages[-1]
        return (
            [str(m.get_attribute("data-outcome")) for m in messages],
            str(last.find_element(By.CSS_SELECTOR, ".figure svg").get_attribute("textContent")),
            str(last.find_element(By.PARTIAL_LINK_TEXT, "open the message").get_attribute("href")),
        )

    outcomes, diagram, link = steady(browser, mail)
    assert outcomes == ["delivered-secured"] * 2
    assert "CN=mail.adatum.com" in diagram and "CN=mail.treyresearch.net" in diagram
    assert "/messages/" in link
    end = view_text(browser, "#demo-end")
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
        assert post(demo, "/demo/next", {"chapter": "1", "step": "1"}, None) == 403
        assert post(demo, "/demo/next", {"chapter": "1", "step": "1"}, cookie) == 403
        wrong = {"chapter": "1", "step": "1", "csrf": "x" * 64}
        assert post(demo, "/demo/next", wrong, cookie) == 403
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
                data=urllib.parse.urlencode(
                    {"csrf": csrf.group(1), "chapter": "1", "step": "1"}
                ).encode(),
                headers={"Origin": demo.base},
            )
            with opener.open(request, timeout=120) as answer:
                page = answer.read().decode()
        assert 'data-step="1"' in page and "Step 1 of 4" in page
        assert 'name="chapter" value="1"><input type="hidden" name="step" value="2"' in page
        assert 'id="demo-chapters"' not in page  # one chapter: no table of contents
        status, rest, err = demo.process.stop(signal.SIGINT)
        out = demo.process.output
        assert "step 1/4" in out and "step 2/" not in out, out
        no_traceback(err)
        assert status == 0, (rest, err)
    finally:
        demo.close()


def test_auto_goes_on_across_chapters_to_the_end_and_the_last_lab_stays_up(
    browser: Any, tmp_path: Path
) -> None:
    demo = WebDemo(tmp_path, "--chapter", "traps", "--auto", "0.3")
    try:
        assert "Auto runs a step every 0.3 s (5 chapters, 18 steps)" in demo.banner
        open_demo(browser, demo)
        # Past the first chapter's four steps, Auto opens the second chapter and runs on.
        wait(
            browser,
            lambda b: chapter_shown(b) == 2 and step_shown(b) >= 1,
            "Auto ran into the second chapter without a click",
        )
        auto = "demo-auto"
        # Read steadily: Auto's own live refresh may replace the button while it is read.
        assert (
            steady(browser, lambda b: b.find_element(By.ID, auto).get_attribute("aria-pressed"))
            == "true"
        )
        press(browser, auto, "Auto clicked off")
        wait(
            browser,
            lambda b: b.find_element(By.ID, auto).get_attribute("aria-pressed") == "false",
            "Auto turned off",
        )
        press(browser, auto, "Auto clicked on")  # and on again: it runs to the last chapter
        for chapter in (3, 4):  # each wait bounded on its own: a busy machine runs slower
            wait(
                browser,
                lambda b, c=chapter: chapter_shown(b) >= c,
                f"Auto reached chapter {chapter}",
            )
        wait(
            browser,
            lambda b: (
                chapter_shown(b) == 5
                and "The demo is over" in b.find_element(By.ID, "demo-end").text
            ),
            "Auto ran to the end of the last chapter",
        )
        end = view_text(browser, "#demo-end")
        assert "Every outcome held in all 5 chapters" in end and "stays up until Ctrl-C" in end
        assert chapter_states(browser) == ["done"] * 5
        assert not steady(browser, lambda b: b.find_element(By.ID, "demo-next").is_enabled())
        snap(browser, "demo-traps-over")
        out = demo.process.read_until("Ctrl-C stops it.", bound=120)
        # The hosted-filtering trap ran on its own lab, its certificates beside the first's.
        assert re.search(r"^chapter 4/5 · .*lab hosted-filtering", out, re.M), out
        assert (tmp_path / "certs" / "hosted-filtering").is_dir()
        assert "✔ every outcome held in all 5 chapters. The lab stays up" in out, out
        # The last lab stays up: its views answer, the topology is the last chapter's.
        browser.get(demo.base + "/topology")
        wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#pairs li.pair"), "topology")
        pairs = steady(
            browser, lambda b: b.find_element(By.ID, "pairs").get_attribute("textContent")
        )
        assert "TreyResearch" in pairs
        status, rest, err = demo.process.stop(signal.SIGINT)
        no_traceback(err)
        assert status == 0, (rest, err)
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
        assert HOSTILE in view_text(browser, "#demo-step")
        click_next(browser, 1)
        while browser.find_element(By.ID, "demo-next").is_enabled():
            click_next(browser, step_shown(browser) + 1)
        text = view_text(browser, "#main")
        assert HOSTILE in text
        assert browser.execute_script("return window.__xss;") is None
        # The outcome that did not hold: ✘ with its text alternative and the explanation.
        failed = browser.find_elements(By.CSS_SELECTOR, "#demo-outcomes li.outcome.fail")
        assert len(failed) == 1 and "'never sent' delivered" in failed[0].text, "\n---\n".join(
            f.text for f in failed
        )
        assert failed[0].find_elements(By.CSS_SELECTOR, ".mark[aria-label='did not hold']")
        assert failed[0].find_elements(By.CSS_SELECTOR, "ul.details li")
        assert "Some outcomes differed" in view_text(browser, "#demo-end")
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


def test_next_walks_two_trap_chapters_and_the_console_and_the_projector_follow(
    browser: Any, tmp_path: Path
) -> None:
    demo = WebDemo(tmp_path, "--chapter", "traps")
    try:
        assert "5 chapters, each on a fresh lab" in demo.banner
        open_demo(browser, demo)
        trainer = browser.current_window_handle
        # The table of contents: every trap with its summary, the first one current.
        assert chapter_states(browser) == ["current"] + ["to come"] * 4
        contents = view_text(browser, "#demo-chapters")
        assert "1. Trap: the Partner receive connector names the Mailbox server" in contents
        assert "What happens when the Mailbox server sends by itself?" in contents  # a summary
        assert "Chapter 1 of 5 · Step 0 of 4" in view_text(browser, "#demo-progress")
        snap(browser, "demo-traps-start")
        browser.switch_to.new_window("window")
        projector = browser.current_window_handle
        open_demo(browser, demo)
        browser.execute_script("window.__projector = 'kept';")
        browser.switch_to.new_window("window")
        topology = browser.current_window_handle
        browser.get(demo.base + "/topology")
        wait(browser, lambda b: "live" in b.find_element(By.ID, "live-state").text, "topology")

        def pairs(b: Any) -> list[str]:
            return [
                str(li.get_attribute("data-secured"))
                for li in b.find_elements(By.CSS_SELECTOR, "#pairs li.pair")
            ]

        for chapter in (1, 2):
            browser.switch_to.window(trainer)
            if chapter == 2:
                click_next(browser, 0, chapter=2)  # Next opens the chapter: its introduction
                assert chapter_states(browser) == ["done", "current"] + ["to come"] * 3
                step = view_text(browser, "#demo-step")
                assert "Chapter 2 of 5" in step and "self-signed" in step
                assert "A fresh lab of its own" in step
                snap(browser, "demo-traps-chapter-2")
                # The console's other views show the new chapter's lab: fresh, nothing
                # partnered yet (chapter 1 ended with both ways domain secured).
                browser.switch_to.window(topology)
                wait(
                    browser,
                    lambda b: pairs(b) and "true" not in pairs(b),
                    "the Topology view shows the second chapter's fresh lab",
                )
                # The projector followed into the new chapter, without a reload.
                browser.switch_to.window(projector)
                wait(browser, lambda b: chapter_shown(b) == 2, "the projector shows chapter 2")
                assert browser.execute_script("return window.__projector;") == "kept"
                browser.switch_to.window(trainer)
            for number in range(1, 5):
                click_next(browser, number, chapter=chapter)
                marks = outcome_marks(browser)
                assert all("ok" in cls.split() for cls, _ in marks), marks
            end = view_text(browser, "#demo-end")
            assert f"Chapter {chapter} of 5 is over" in end
            assert f"Chapter {chapter}: every outcome held" in end
            assert f"opens chapter {chapter + 1}" in end
            label = view_text(browser, "#demo-next")
            assert f"chapter {chapter + 1} of 5" in label, label
            assert chapter_states(browser) == ["done"] * chapter + ["to come"] * (5 - chapter)
            held = browser.find_elements(By.CSS_SELECTOR, "#demo-chapters .mark.ok")
            assert len(held) == chapter
            if chapter == 1:
                snap(browser, "demo-traps-chapter-1-over")
                browser.switch_to.window(topology)
                wait(browser, lambda b: "true" in pairs(b), "Topology: chapter 1's secured pair")
        browser.switch_to.window(projector)
        wait(
            browser,
            lambda b: chapter_states(b)[:2] == ["done", "done"],
            "the projector's table of contents follows",
        )
        for handle in (projector, topology):
            browser.switch_to.window(handle)
            browser.close()
        browser.switch_to.window(trainer)
        out = demo.process.read_until("Next opens chapter 3/5", bound=120)
        assert re.search(r"^chapter 2/5 · Trap: no proxy", out, re.M), out
        assert len(re.findall(r"^step 4/4 · .*: ✔", out, re.M)) == 2, out
        status, rest, err = demo.process.stop(signal.SIGINT)
        no_traceback(err)
        assert status == 0, (rest, err)
    finally:
        demo.close()


def test_a_late_next_across_chapters_runs_nothing_twice_and_bad_requests_leave_the_lab_up(
    tmp_path: Path,
) -> None:
    demo = WebDemo(tmp_path, "--chapter", "traps")
    try:
        (running,) = running_labs(state_folder())
        attached = ControlClient(running.control, timeout=60)

        def receive_connectors() -> str:
            reply = attached.request(
                "line", organization="TreyResearch", server=None, text="Get-ReceiveConnector"
            )
            return str(reply["output"])

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(demo.url, timeout=60) as answer:
            page = answer.read().decode()
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert csrf

        def next_(chapter: str, step: str) -> str:
            request = urllib.request.Request(
                demo.base + "/demo/next",
                data=urllib.parse.urlencode(
                    {"csrf": csrf.group(1), "chapter": chapter, "step": step}
                ).encode(),
                headers={"Origin": demo.base},
            )
            with opener.open(request, timeout=120) as answer:
                return str(answer.read().decode())

        def status(method: str, path: str, fields: dict[str, str] | None = None) -> int:
            data = None
            if fields is not None:
                data = urllib.parse.urlencode({"csrf": csrf.group(1), **fields}).encode()
            request = urllib.request.Request(
                demo.base + path, data=data, method=method, headers={"Origin": demo.base}
            )
            try:
                with opener.open(request, timeout=60) as answer:
                    return int(answer.status)
            except urllib.error.HTTPError as err:
                return int(err.code)

        # Opening chapter 2 before chapter 1 is over runs nothing.
        page = next_("2", "0")
        assert 'data-step="0" data-chapter="1"' in page
        for step in ("1", "1", "2", "3", "4"):  # step 1 twice: a double click
            page = next_("1", step)
        assert 'name="chapter" value="2"><input type="hidden" name="step" value="0"' in page
        assert "From Adatum" in receive_connectors()  # chapter 1's Partner connector
        page = next_("2", "0")
        page = next_("2", "0")  # a double click on "Next: chapter 2" opens it once
        assert 'data-step="0" data-chapter="2"' in page
        page = next_("1", "4")  # the projector's stale page: nothing runs
        assert 'data-step="0" data-chapter="2"' in page
        # An attached shell goes on, on the new chapter's fresh lab.
        assert "From Adatum" not in receive_connectors()
        attached.close()
        # Bad requests get their status, and the new chapter's lab goes on.
        assert status("POST", "/demo/next", {"chapter": "two", "step": "1"}) == 400
        assert status("POST", "/demo/next", {"step": "1"}) == 400
        assert status("GET", "/demo/next") == 405
        assert status("POST", "/demo/next", {"chapter": "2", "step": "1" + "0" * 200_000}) == 413
        assert status("GET", "/demo/no-such") == 404
        page = next_("2", "1")
        assert 'data-step="1" data-chapter="2"' in page
        page = next_("2", "2")
        # A step link of chapter 1 (a page from before) shows chapter 2's newest step; one of
        # chapter 2 shows its step.
        for query, shown in (("chapter=1&step=1", "2"), ("chapter=2&step=1", "1")):
            with opener.open(f"{demo.base}/demo?{query}", timeout=60) as answer:
                assert f'data-step="{shown}" data-chapter="2"' in answer.read().decode(), query
        assert status("GET", "/topology") == 200
        out = demo.process.read_until("step 1/4", bound=60)
        out += demo.process.read_until("chapter 2/5", bound=60)
        out += demo.process.read_until("step 1/4", bound=60)
        code, rest, err = demo.process.stop(signal.SIGINT)
        everything = out + rest
        assert everything.count("step 1/4 · ") == 2, everything
        assert everything.count("chapter 2/5 · ") == 1, everything
        assert everything.count("step 2/4 · ") == 2, everything
        no_traceback(err)
        assert code == 0, (rest, err)
    finally:
        demo.close()
