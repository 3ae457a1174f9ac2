"""The web console in a real headless Chromium, on a real ``labsim up``.

One lab serves most of the module (each test that needs the organizations partnered runs the
walkthrough first unless it ran, so any test runs alone or in any order); the walkthrough typed
at the browser's prompt and a clean stop get a lab of their own. Every wait is the browser
driver's bounded wait for a condition; nothing sleeps.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any

import pytest
from live_helpers import LiveLab
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from web_helpers import WALKTHROUGH, ensure_partnered, screenshot_folder

WAIT = 60.0

HOSTILE_SUBJECT = '<script>window.__xss="subject"</script>"><img src=x onerror="window.__xss=1">'


def base(lab: LiveLab) -> str:
    """http://127.0.0.1:PORT of the console."""
    return str(lab.info["web"]).split("/?", 1)[0]


def wait(browser: Any, condition: Any, message: str) -> Any:
    """The driver's bounded wait for ``condition(browser)`` (a live view may replace the
    elements a condition looks at while it looks: it is asked again)."""
    return WebDriverWait(
        browser, WAIT, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    ).until(condition, message)


def click(browser: Any, xpath: str, message: str) -> None:
    """Click the element ``xpath`` finds, once it is there (found again if a live refresh
    replaced it)."""
    wait(browser, lambda b: b.find_element(By.XPATH, xpath).click() or True, message)


def snap(browser: Any, name: str) -> None:
    """Keep a screenshot of the whole current view (up to 2400 px tall) for CI and for a human
    to look at."""
    size = browser.get_window_size()
    chrome = size["height"] - browser.execute_script("return window.innerHeight;")
    height = browser.execute_script("return document.documentElement.scrollHeight;")
    browser.set_window_size(size["width"], min(2400, max(size["height"], height + chrome)))
    try:
        browser.save_screenshot(str(screenshot_folder() / f"{name}.png"))
    finally:
        browser.set_window_size(size["width"], size["height"])


def open_console(browser: Any, lab: LiveLab, path: str = "/") -> None:
    """Open the URL labsim up printed (it sets the cookie), then ``path``."""
    browser.get(lab.info["web"])
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "header nav"), "console home")
    if path != "/":
        browser.get(base(lab) + path)
    wait(
        browser,
        lambda b: "live" in b.find_element(By.ID, "live-state").text or path == "/shell",
        f"{path}: event stream open",
    )


def type_line(browser: Any, line: str) -> str:
    """Type a line at the browser's prompt; return what it printed."""
    before = len(browser.find_elements(By.CSS_SELECTOR, "#transcript .entry"))
    field = browser.find_element(By.ID, "line")
    field.send_keys(line, Keys.ENTER)
    wait(
        browser,
        lambda b: len(b.find_elements(By.CSS_SELECTOR, "#transcript .entry")) > before,
        f"output of {line!r}",
    )
    entry = browser.find_elements(By.CSS_SELECTOR, "#transcript .entry")[-1]
    return str(entry.text)


def test_ready_file_and_banner_give_the_console_url(lab: LiveLab) -> None:
    url = lab.info["web"]
    assert url.startswith("http://127.0.0.1:") and "/?k=" in url
    assert f"web console              {url}" in lab.banner


def pair_verdicts(browser: Any) -> dict[tuple[str, str], str]:
    """The topology's verdict per ordered pair of organizations: "true" when domain-secured."""
    return {
        (li.get_attribute("data-sender"), li.get_attribute("data-receiver")): li.get_attribute(
            "data-secured"
        )
        for li in browser.find_elements(By.CSS_SELECTOR, "#pairs li")
    }


def test_the_walkthrough_at_the_browser_prompt_turns_the_topology_green(
    browser: Any, fresh_lab: LiveLab
) -> None:
    lab = fresh_lab
    open_console(browser, lab)
    home = browser.find_element(By.ID, "main").text
    assert "Adatum" in home and "TreyResearch" in home and "ben@treyresearch.net" in home
    snap(browser, "home")
    open_console(browser, lab, "/topology")
    picture = browser.find_element(By.CSS_SELECTOR, "#topology svg").get_attribute("textContent")
    assert "Adatum" in picture and "TreyResearch" in picture
    assert "mail.adatum.com" in picture and "mail.treyresearch.net" in picture
    assert pair_verdicts(browser) == {
        ("Adatum", "TreyResearch"): "false",
        ("TreyResearch", "Adatum"): "false",
    }
    snap(browser, "topology-before")

    open_console(browser, lab, "/shell")
    assert browser.find_element(By.ID, "prompt").text == "[PS] Adatum>"
    organization = "Adatum"
    for org, line in WALKTHROUGH:
        if org != organization:
            type_line(browser, f":org {org}")
            organization = org
            assert browser.find_element(By.ID, "prompt").text == f"[PS] {org}>"
        output = type_line(browser, line)
        assert "error" not in output.lower() or "Thumbprint" in output, output
    output = type_line(browser, "Get-TransportConfig | FL TLS*")
    assert "TLSReceiveDomainSecureList : {adatum.com}" in output
    # EMS's colours: the proxy note on "To Adatum" in yellow, an error in red.
    notes = browser.find_elements(By.CSS_SELECTOR, "#transcript .output .warning")
    assert any(n.text.startswith("labsim note: Domain Security") for n in notes)
    type_line(browser, "Get-SendConnector nope")
    error = browser.find_elements(By.CSS_SELECTOR, "#transcript .entry")[-1]
    assert error.find_element(By.CSS_SELECTOR, ".output .error").text.startswith(
        "Get-SendConnector: "
    )
    snap(browser, "shell")

    open_console(browser, lab, "/topology")
    assert pair_verdicts(browser) == {
        ("Adatum", "TreyResearch"): "true",
        ("TreyResearch", "Adatum"): "true",
    }
    snap(browser, "topology")


def test_a_message_appears_in_the_mailbox_with_the_check_without_reload(
    browser: Any, lab: LiveLab
) -> None:
    ensure_partnered(lab)
    open_console(browser, lab, "/mailboxes/ben@treyresearch.net")
    browser.execute_script("window.__sameDocument = 'yes';")
    lab.sh(
        "Adatum",
        'Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject "Hello Trey" '
        '-Body "Sent with Domain Security."',
    )
    row = wait(
        browser,
        lambda b: [
            r for r in b.find_elements(By.CSS_SELECTOR, "#inbox tbody tr") if "Hello Trey" in r.text
        ],
        "the new message in Ben's list",
    )[0]
    mark = row.find_element(By.CSS_SELECTOR, "td.mark [role=img]")
    assert mark.get_attribute("aria-label") == "Domain secured"
    assert "april@adatum.com" in row.text
    assert browser.execute_script("return window.__sameDocument;") == "yes", "page was reloaded"
    snap(browser, "mailbox")
    row.find_element(By.LINK_TEXT, "Hello Trey").click()
    wait(browser, lambda b: b.find_elements(By.ID, "headers"), "the reading pane")
    stamps = {
        r.find_element(By.TAG_NAME, "th").text: r.find_element(By.TAG_NAME, "td").text
        for r in browser.find_elements(By.CSS_SELECTOR, "#headers tr.stamp")
    }
    assert stamps["X-MS-Exchange-Organization-AuthAs"] == "Partner"
    assert stamps["X-MS-Exchange-Organization-AuthDomain"] == "adatum.com"
    assert "Subject" not in stamps  # only the Auth* stamps are highlighted
    snap(browser, "message")
    browser.find_element(By.ID, "message-path").click()
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#sequence svg"), "its path")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Hello Trey"


def test_the_sequence_diagram_names_both_certificates(browser: Any, lab: LiveLab) -> None:
    ensure_partnered(lab)
    lab.sh(
        "Adatum",
        'Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject "Quarterly figures"',
    )
    open_console(browser, lab, "/messages")
    snap(browser, "messages")
    click(browser, "//table[@id='messages']//a[text()='Quarterly figures']", "the message's link")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#sequence svg"), "the diagram")
    assert "/messages/" in browser.current_url
    drawn = browser.find_element(By.CSS_SELECTOR, "#sequence svg").get_attribute("textContent")
    assert "CN=mail.adatum.com" in drawn, drawn
    assert "CN=mail.treyresearch.net" in drawn, drawn
    hops = browser.find_element(By.ID, "hops").text
    assert "From Adatum" in hops  # the receive connector that took the partner's session
    snap(browser, "sequence")


def test_queue_in_retry_and_the_retry_queue_button(browser: Any, lab: LiveLab) -> None:
    ensure_partnered(lab)
    lab.sh("TreyResearch", "Stop-LabServer TREY-CAS1")
    lab.sh(
        "Adatum",
        "Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject Queued",
    )
    open_console(browser, lab, "/queues")
    queue = wait(
        browser,
        lambda b: [
            r
            for r in b.find_elements(By.CSS_SELECTOR, "tr.queue")
            if "treyresearch.net" in r.text and "Retry" in r.text
        ],
        "the treyresearch.net queue in Retry",
    )[0]
    cells = queue.find_elements(By.TAG_NAME, "td")
    assert cells[0].text.startswith("ADATUM-MBX1\\")
    assert cells[5].text, "LastError is shown"
    assert any(
        "Queued" in r.text for r in browser.find_elements(By.CSS_SELECTOR, "tr.queued-message")
    )
    snap(browser, "queues")
    lab.sh("TreyResearch", "Start-LabServer TREY-CAS1")
    click(
        browser,
        "//tr[contains(@class, 'queue')][contains(., 'treyresearch.net')]"
        "//button[text()='Retry-Queue']",
        "the Retry-Queue button of the treyresearch.net queue",
    )
    result = wait(browser, lambda b: b.find_elements(By.ID, "action-result"), "Retry-Queue ran")
    assert "Retry-Queue -Identity" in result[0].text
    assert "/queues?result=" in browser.current_url  # the view stays live and reloadable
    lines = lab.sh("TreyResearch", ":inbox ben@treyresearch.net")
    assert "'Queued'" in lines


def test_logs_view_filters_by_session(browser: Any, lab: LiveLab) -> None:
    ensure_partnered(lab)
    lab.sh(
        "Adatum", "Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject Log"
    )
    open_console(browser, lab, "/logs?server=TREY-CAS1&kind=receive")
    rows = browser.find_elements(By.CSS_SELECTOR, "#log tbody tr")
    assert rows, "TREY-CAS1 received mail"
    session = rows[0].find_elements(By.TAG_NAME, "td")[2].text
    rows[0].find_element(By.LINK_TEXT, session).click()
    wait(browser, lambda b: "session=" in b.current_url, "the session filter")
    sessions = {
        r.find_elements(By.TAG_NAME, "td")[2].text
        for r in browser.find_elements(By.CSS_SELECTOR, "#log tbody tr")
    }
    assert sessions == {session}
    snap(browser, "logs")


def hostile_message(lab: LiveLab) -> None:
    """TreyResearch's CAS (its address, its certificate) sends Ed a message whose subject,
    headers and body carry markup and a javascript: link."""
    context = ssl.create_default_context(cafile=lab.root("Adatum"))
    context.check_hostname = False
    cert = lab.certificate("TREY-CAS1")
    context.load_cert_chain(cert["chain"], cert["key"])
    message = (
        'From: "<img src=x onerror=window.__xss=2>" <ben@treyresearch.net>\r\n'
        "To: ed@adatum.com\r\n"
        f"Subject: {HOSTILE_SUBJECT}\r\n"
        'X-Link: <a href="javascript:window.__xss=3">open</a>\r\n'
        "Message-ID: <xss-1@treyresearch.net>\r\n"
        "\r\n"
        '<a href="javascript:window.__xss=4">click me</a> <script>window.__xss=5</script>\r\n'
    )
    with smtplib.SMTP(
        "127.0.10.1",
        lab.port("ADATUM-CAS1"),
        local_hostname="mail.treyresearch.net",
        source_address=("127.0.20.1", 0),
        timeout=30,
    ) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo("mail.treyresearch.net")
        smtp.sendmail("ben@treyresearch.net", ["ed@adatum.com"], message)


def assert_inert(browser: Any, where: str) -> None:
    """Nothing from the message ran or became markup."""
    assert browser.execute_script("return window.__xss;") is None, where
    assert not browser.find_elements(By.CSS_SELECTOR, "img"), where
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript' i]"), where
    scripts = [s.get_attribute("src") for s in browser.find_elements(By.TAG_NAME, "script")]
    assert scripts == [base_url(browser) + "/static/console.js"], where


def base_url(browser: Any) -> str:
    return str(browser.execute_script("return location.origin;"))


def test_hostile_message_is_inert_in_every_view(browser: Any, lab: LiveLab) -> None:
    open_console(browser, lab, "/mailboxes/ed@adatum.com")
    hostile_message(lab)
    row = wait(
        browser,
        lambda b: [
            r for r in b.find_elements(By.CSS_SELECTOR, "#inbox tbody tr") if "<script>" in r.text
        ],
        "the hostile message listed",
    )[0]
    assert HOSTILE_SUBJECT in row.text  # shown as text, exactly
    assert_inert(browser, "mailbox list")
    row.find_element(By.CSS_SELECTOR, "td.subject a").click()
    wait(browser, lambda b: b.find_elements(By.ID, "headers"), "the reading pane")
    text = browser.find_element(By.ID, "message").text
    assert 'href="javascript:window.__xss=3"' in text and "<script>window.__xss=5</script>" in text
    assert_inert(browser, "message")
    snap(browser, "xss-message")
    browser.get(base(lab) + "/logs?server=ADATUM-MBX1&kind=tracking&text=xss")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#log tbody tr"), "tracking rows")
    assert HOSTILE_SUBJECT in browser.find_element(By.ID, "log").text
    assert_inert(browser, "tracking log")
    browser.get(base(lab) + "/messages")
    click(browser, "//table[@id='messages']//a[contains(., '<script>')]", "the message's path")
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, "#sequence svg"), "its diagram")
    drawn = browser.find_element(By.CSS_SELECTOR, "#sequence svg").get_attribute("textContent")
    assert "<script>" in drawn  # the subject drawn as text
    assert_inert(browser, "sequence diagram")


def request(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str]:
    """One plain HTTP request (no cookie): status and body."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def cookie(lab: LiveLab) -> str:
    """The Cookie header the browser sends once it opened the console's URL."""
    port = base(lab).rsplit(":", 1)[1]
    return f"labsim_console_{port}={lab.info['web'].split('k=', 1)[1]}"


def test_state_changing_requests_need_the_secret_and_the_csrf_token(lab: LiveLab) -> None:
    root = base(lab)
    form = b"line=Stop-LabServer+ADATUM-CAS1"
    status, body = request(root + "/shell", method="POST", data=form)
    assert status == 403 and "secret" in body
    # The cookie without the CSRF token: refused too.
    status, body = request(
        root + "/shell", method="POST", data=form, headers={"Cookie": cookie(lab)}
    )
    assert status == 403 and "CSRF" in body
    status, _ = request(
        root + "/queues/retry", method="POST", data=b"organization=Adatum&identity=ADATUM-MBX1%5C1"
    )
    assert status == 403
    status, _ = request(root + "/mailboxes/ben@treyresearch.net")
    assert status == 403
    servers = lab.sh("Adatum", "Get-LabServer")
    assert "ADATUM-CAS1" in servers, servers


@pytest.mark.parametrize(
    ("method", "path", "data", "status", "says"),
    [
        ("GET", "/no-such-view", None, 404, "no page at /no-such-view"),
        ("GET", "/mailboxes/nobody@fabrikam.com", None, 404, "no mailbox nobody@fabrikam.com"),
        ("GET", "/messages/nope@x", None, 404, "no message nope@x"),
        ("DELETE", "/queues", None, 405, "does not take DELETE"),
        ("GET", "/queues/retry", None, 405, "it takes POST"),
        ("POST", "/shell", b"x" * 200_000, 413, "request body over"),
    ],
)
def test_bad_requests_get_a_clear_status_and_the_lab_goes_on(
    lab: LiveLab, method: str, path: str, data: bytes | None, status: int, says: str
) -> None:
    got, body = request(base(lab) + path, method=method, data=data, headers={"Cookie": cookie(lab)})
    assert (got, says in body) == (status, True), body
    assert "TREY-CAS1" in lab.sh("Adatum", "Get-LabServer")


def test_garbage_instead_of_http_is_refused_and_the_lab_goes_on(lab: LiveLab) -> None:
    port = int(base(lab).rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        raw.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        reply = raw.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400"), reply
    assert "TREY-CAS1" in lab.sh("Adatum", "Get-LabServer")


def test_the_lab_stops_cleanly_with_a_console_page_open(browser: Any, fresh_lab: LiveLab) -> None:
    lab = fresh_lab
    open_console(browser, lab, "/queues")  # its event stream is open
    status, rest, stderr = lab.stop()
    assert status == 0, stderr
    assert "Traceback" not in stderr, stderr
    assert "lab 'default' stopped" in rest
    wait(
        browser,
        lambda b: "reconnecting" in b.find_element(By.ID, "live-state").text,
        "the page notices the lab is gone",
    )
