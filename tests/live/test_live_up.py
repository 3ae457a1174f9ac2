"""``labsim up`` as a real process: ready file, real clients (smtplib, openssl, swaks) with the
partner's certificate, an attached shell that never freezes the lab, clean stops on signals."""

from __future__ import annotations

import json
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_helpers import (
    SIGNALS,
    LabsimProcess,
    LiveLab,
    no_traceback,
    partner_setup,
    refused,
)

MESSAGE = "From: ben@treyresearch.net\r\nTo: ed@adatum.com\r\nSubject: {subject}\r\n\r\nHello from Trey.\r\n"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveLab]:
    lab = LiveLab(tmp_path, "--logs", str(tmp_path / "logs"))
    try:
        yield lab
    finally:
        lab.close()


def smtplib_send(
    lab: LiveLab, subject: str, *, with_certificate: bool, source: str = "127.0.20.1"
) -> tuple[int, str]:
    """TreyResearch's CAS as a real client: STARTTLS, optionally its certificate, one message."""
    context = ssl.create_default_context(cafile=lab.root("Adatum"))
    context.check_hostname = False  # connected by address; the chain is still verified
    if with_certificate:
        cert = lab.certificate("TREY-CAS1")
        context.load_cert_chain(cert["chain"], cert["key"])
    with smtplib.SMTP(
        "127.0.10.1",
        lab.port("ADATUM-CAS1"),
        local_hostname="mail.treyresearch.net",
        source_address=(source, 0),
        timeout=30,
    ) as smtp:
        smtp.starttls(context=context)
        smtp.ehlo("mail.treyresearch.net")
        try:
            smtp.sendmail(
                "ben@treyresearch.net", ["ed@adatum.com"], MESSAGE.format(subject=subject)
            )
        except smtplib.SMTPSenderRefused as err:
            return err.smtp_code, err.smtp_error.decode()
    return 250, "sent"


def inbox_line(lab: LiveLab, subject: str) -> str:
    lines = [
        line for line in lab.sh("Adatum", ":inbox ed@adatum.com").splitlines() if subject in line
    ]
    assert len(lines) == 1, lines
    return lines[0]


def test_ready_file_lists_every_server_port_and_certificate(live: LiveLab) -> None:
    info = live.info
    assert set(info["servers"]) == {"ADATUM-CAS1", "ADATUM-MBX1", "TREY-CAS1", "TREY-MBX1"}
    cas = info["servers"]["ADATUM-CAS1"]
    assert cas["fqdn"] == "mail.adatum.com" and cas["address"] == "127.0.10.1"
    offset = info["port_offset"]
    assert cas["ports"] == {"25": 25 + offset, "587": 587 + offset, "717": 717 + offset}
    assert info["servers"]["ADATUM-MBX1"]["ports"]["2525"] == 2525 + offset
    for path in cas["certificate"].values():
        assert Path(path).is_file(), path
    assert info["dns"] == f"127.0.53.53:{53 + offset}"
    assert Path(info["control"]).exists()
    # Get-LabServer shows the same ports.
    shown = live.sh("Adatum", "Get-LabServer ADATUM-CAS1 | FL Ports")
    assert f"{{25->{25 + offset}, 587->{587 + offset}, 717->{717 + offset}}}" in shown
    # The printed table says the same.
    assert f"port    25 -> {25 + offset}" in live.banner
    assert cas["certificate"]["chain"] in live.banner


def test_smtplib_with_the_partner_certificate_is_domain_secured(live: LiveLab) -> None:
    partner_setup(live)
    assert smtplib_send(live, "with cert", with_certificate=True) == (250, "sent")
    assert "✔ domain secured" in inbox_line(live, "with cert")
    code, text = smtplib_send(live, "no cert", with_certificate=False)
    assert (code, text) == (530, "5.7.1 Not authenticated")


@pytest.mark.skipif(
    shutil.which("swaks") is None, reason="swaks is not installed (.ci/run installs it)"
)
def test_swaks_with_the_partner_certificate_is_domain_secured(live: LiveLab) -> None:
    partner_setup(live)
    cert = live.certificate("TREY-CAS1")
    base = [
        "swaks",
        "--server", f"127.0.10.1:{live.port('ADATUM-CAS1')}",
        "--local-interface", "127.0.20.1",
        "--ehlo", "mail.treyresearch.net",
        "--from", "ben@treyresearch.net",
        "--to", "ed@adatum.com",
        "--tls",
        "--tls-ca-path", live.root("Adatum"),
        "--tls-verify",
        "--timeout", "30",
    ]  # fmt: skip
    sent = subprocess.run(
        [*base, "--header", "Subject: swaks with cert", "--tls-cert", cert["chain"], "--tls-key", cert["key"]],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "✔ domain secured" in inbox_line(live, "swaks with cert")
    bare = subprocess.run(
        [*base, "--header", "Subject: swaks bare"], capture_output=True, text=True, timeout=60, check=False
    )  # fmt: skip
    assert bare.returncode != 0
    assert "<~* 530 5.7.1 Not authenticated" in bare.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_s_client_with_the_partner_certificate_is_domain_secured(live: LiveLab) -> None:
    partner_setup(live)
    cert = live.certificate("TREY-CAS1")

    def s_client(subject: str, *credentials: str) -> str:
        dialogue = (
            "EHLO mail.treyresearch.net\nMAIL FROM:<ben@treyresearch.net>\nRCPT TO:<ed@adatum.com>\n"
            f"DATA\nSubject: {subject}\n\nhello\n.\nQUIT\n"
        )
        done = subprocess.run(
            ["openssl", "s_client", "-starttls", "smtp", "-name", "mail.treyresearch.net",
             "-connect", f"127.0.10.1:{live.port('ADATUM-CAS1')}", "-bind", "127.0.20.1:0",
             "-CAfile", live.root("Adatum"), "-verify_return_error", "-crlf", "-ign_eof",
             "-quiet", *credentials],
            input=dialogue, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        return done.stdout

    out = s_client("s_client with cert", "-cert", cert["cert"], "-key", cert["key"])
    assert "250 2.6.0" in out, out
    assert "✔ domain secured" in inbox_line(live, "s_client with cert")
    assert "530 5.7.1 Not authenticated" in s_client("s_client bare")


def test_the_lab_serves_while_an_attached_shell_waits(live: LiveLab, tmp_path: Path) -> None:
    shell = LabsimProcess("shell", "--attach", cwd=tmp_path, stdin=True)
    try:
        shell.read_until("[PS] Adatum> ")
        # The shell sits at its prompt: an outside client still gets its banner at once
        # (before the live lab, it sat in the kernel's backlog until the next line).
        started = time.monotonic()
        with smtplib.SMTP("127.0.10.1", live.port("ADATUM-CAS1"), timeout=10) as smtp:
            code, _ = smtp.noop()
        assert code == 250
        latency = time.monotonic() - started
        assert latency < 10  # a bound, not a speed target (bench/ measures it)

        # An outside session left open does not hold up the shell's next line.
        idle = socket.create_connection(("127.0.10.1", live.port("ADATUM-CAS1")), timeout=10)
        try:
            assert idle.recv(200).startswith(b"220 ")
            shell.send("Send-MailMessage -From april@adatum.com -To ed@adatum.com -Subject Lunch\n")
            shell.send(":inbox ed@adatum.com\n")
            out = shell.read_until("(AuthAs Internal)", bound=20)
        finally:
            idle.close()
        assert "still working" not in out
        assert "'Lunch' from april@adatum.com" in out
        shell.send(":quit\n")
        status, _, err = shell.wait()
        assert status == 0
        no_traceback(err)
    finally:
        shell.kill()


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_up_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    lab = LiveLab(tmp_path, "--logs", str(tmp_path / "logs"))
    try:
        partner_setup(lab)
        assert smtplib_send(lab, "logged", with_certificate=True) == (250, "sent")
        status, out, err = lab.stop(signum)
    finally:
        lab.close()
    assert status == 0
    no_traceback(err)
    assert f"labsim: {signal.Signals(signum).name}: lab 'default' stopped" in out
    for server in lab.info["servers"].values():
        for port in server["ports"].values():
            assert refused(server["address"], port)
    assert not lab.ready_file.exists()
    assert not Path(lab.info["control"]).exists()
    # The receive protocol log of ADATUM-CAS1 is on disk, complete up to the session's end.
    logs = "".join(
        p.read_text(encoding="utf-8", errors="replace")
        for p in (tmp_path / "logs").rglob("*.LOG")
        if "ProtocolLog" in str(p) and "SmtpReceive" in str(p)
    )
    assert "ADATUM-CAS1\\From TreyResearch" in logs and "250 2.6.0" in logs
    assert logs.rstrip().endswith(",-,,Remote")  # the session's last line: the client closed


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_shell_stops_cleanly_on_a_signal(tmp_path: Path, signum: int) -> None:
    shell = LabsimProcess("shell", "--certs", str(tmp_path / "certs"), cwd=tmp_path, stdin=True)
    try:
        banner = shell.read_until("[PS] Adatum> ")
        offset = int(banner.split("port offset ")[1].split(")")[0])
        status, out, err = shell.stop(signum)
    finally:
        shell.kill()
    assert status == 0
    no_traceback(err)
    assert f"labsim: {signal.Signals(signum).name}: lab 'default' stopped" in out
    assert refused("127.0.10.1", 25 + offset)


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_run_stops_on_a_signal_and_reports_what_ran(tmp_path: Path, signum: int) -> None:
    root = Path(__file__).resolve().parents[2]
    junit = tmp_path / "junit.xml"
    run = LabsimProcess(
        "run", str(root / "scenarios" / "breakfix"), "--junit", str(junit),
        "--certs", str(tmp_path / "certs"), cwd=tmp_path,
    )  # fmt: skip
    try:
        run.read_until("\n✔ ")  # the first step of the first scenario has run
        status, out, err = run.stop(signum)
    finally:
        run.kill()
    assert status == 128 + signum
    no_traceback(err)
    assert f"labsim: {signal.Signals(signum).name}: stopped after" in out
    import xml.etree.ElementTree as ET

    cases = ET.parse(junit).getroot().findall("testsuite/testcase")
    ran = int(out.split("stopped after ")[1].split(" of ")[0])
    assert len(cases) == ran < 25


def test_two_labs_at_once_choose_different_ports(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = LiveLab(tmp_path / "a")
    try:
        second = LiveLab(tmp_path / "b")
        try:
            assert first.info["port_offset"] != second.info["port_offset"]
            for lab in (first, second):
                with smtplib.SMTP("127.0.10.1", lab.port("ADATUM-CAS1"), timeout=10) as smtp:
                    assert smtp.noop()[0] == 250
            assert "2 labs are running" in _attach_error(tmp_path)
        finally:
            second.close()
    finally:
        first.close()


def _attach_error(tmp_path: Path) -> str:
    shell = LabsimProcess("shell", "--attach", cwd=tmp_path)
    status, _, err = shell.wait()
    assert status == 2
    return err


def test_ready_file_is_json_that_a_script_can_wait_for(live: LiveLab) -> None:
    # Written atomically: the file is whole JSON as soon as it exists.
    assert json.loads(live.ready_file.read_text())["control"] == live.info["control"]
