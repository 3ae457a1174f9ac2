"""Get-ChildItem, Get-Content and Select-String over the servers' Exchange log folders on a real
lab (docs/fidelity.md, "Log files in the shell"): the files are the text the lab logged, in
Exchange 2013's default folders, on the shell's server or a server named by its admin share.
Real sockets; time moves only on the lab clock."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from labsim.lab import Lab
from tests.integration.test_e2e_queue_control import trusted_partners

LOGS = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs"
SEND = f"{LOGS}\\Hub\\ProtocolLog\\SmtpSend"


@pytest.fixture
def lab(start_lab: Callable[..., Lab]) -> Lab:
    lab = trusted_partners(start_lab)
    lab.send(mail_from="april@adatum.com", to=["ben@treyresearch.net"], subject="logged")
    assert [m.subject for m in lab.inbox("ben@treyresearch.net")] == ["logged"]
    return lab


def _run(
    lab: Lab, line: str, server: str | None = "ADATUM-MBX1", org: str = "Adatum"
) -> tuple[str, str | None]:
    result = lab.run_shell(org, line, server)
    return str(result.output), None if result.error is None else str(result.error)


def test_folders_files_and_their_text(lab: Lab) -> None:
    folders, error = _run(lab, f'Get-ChildItem "{LOGS}"')
    assert error is None, error
    assert folders.splitlines()[0] == f"    Directory: {LOGS}"
    assert [line.split()[-1] for line in folders.splitlines()[4:]] == ["Hub", "MessageTracking"]
    files, error = _run(lab, f'Get-ChildItem "{SEND}"')
    assert error is None, error
    [row] = files.splitlines()[4:]
    name = row.split()[-1]
    assert name.startswith("SEND") and name.endswith("-1.LOG")
    # The file is the log as the lab wrote it: Exchange's header, then the records.
    log = lab.world.protocol_logs.log("ADATUM-MBX1", "Hub", "send")
    text, error = _run(lab, f'Get-Content "{SEND}\\{name}"')
    assert error is None, error
    assert text.splitlines() == log.text().splitlines()
    assert int(row.split()[-2]) == len(log.text().encode("utf-8"))
    tail, _ = _run(lab, f'Get-Content "{SEND}\\{name}" -Tail 2')
    assert tail.splitlines() == log.text().splitlines()[-2:]


def test_select_string_finds_lines_with_their_path_and_number(lab: Lab) -> None:
    found, error = _run(lab, f'Select-String -Path "{SEND}\\*.LOG" -Pattern "BDAT \\d+ LAST"')
    assert error is None, error
    [hit] = found.splitlines()
    parts = re.fullmatch(r"(C:\\.*?\.LOG):(\d+):(.*)", hit)
    assert parts is not None, hit
    path, number, text = parts.groups()
    assert path.startswith(f"{SEND}\\SEND")
    lines = lab.world.protocol_logs.log("ADATUM-MBX1", "Hub", "send").text().splitlines()
    assert lines[int(number) - 1] == text and ">,BDAT " in text
    # Another server by its admin share, and Get-ChildItem piped in: TreyResearch's CAS logged
    # Adatum's certificate; the shell on no server.
    share = "\\\\TREY-CAS1\\C$\\Program Files\\Microsoft\\Exchange Server\\V15"
    receive = f"{share}\\TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpReceive"
    piped, error = _run(
        lab,
        f'Get-ChildItem "{receive}" | Select-String -SimpleMatch "Certificate subject"',
        server=None,
        org="TreyResearch",
    )
    assert error is None, error
    assert piped and all(
        row.startswith(f"{receive}\\RECV") and "Certificate subject" in row
        for row in piped.splitlines()
    ), piped
    other, error = _run(lab, f'Get-ChildItem "{receive}"', server=None)
    assert error is not None and "The servers of Adatum are" in error
    unc, error = _run(lab, f'Select-String -Path "{SEND}\\*" -Pattern BDAT', server=None)
    assert error is not None and ":server ADATUM-MBX1" in error


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('Get-ChildItem "C:\\Windows"', "labsim's shell reads the servers' log folders"),
        (f'Get-ChildItem "{LOGS}\\FrontEnd\\x.LOG"', "ADATUM-MBX1 keeps its logs in"),
        (f'Get-Content "{SEND}\\nothere.LOG"', "The folder has SEND"),
        (f'Select-String -Path "{SEND}" -Pattern x', "it is a folder"),
        (f'Select-String -Path "{SEND}\\*" -Pattern "("', "-SimpleMatch"),
        (f'Get-Content "{SEND}\\x.LOG" -Tail -1', "minimum allowed range of 0"),
    ],
)
def test_bad_paths_get_one_message(lab: Lab, line: str, message: str) -> None:
    _, error = _run(lab, line)
    assert error is not None and message in error, error


def test_wildcards_in_folders_reach_both_protocol_logs(lab: Lab) -> None:
    found, error = _run(
        lab, f'Select-String -Path "{LOGS}\\Hub\\ProtocolLog\\*\\*.LOG" -Pattern "BDAT \\d+ LAST"'
    )
    assert error is None, error
    assert [h.split(".LOG:")[0].rsplit("\\", 2)[1] for h in found.splitlines()] == ["SmtpSend"]
    listed, error = _run(lab, f'Get-ChildItem "{LOGS}\\Hub\\ProtocolLog\\Smtp*\\*.LOG"')
    assert error is None, error
    assert any(line.endswith(".LOG") and "SEND" in line for line in listed.splitlines()), listed


def test_the_shells_server_is_local_whatever_its_organization(lab: Lab) -> None:
    # labsim shell's :server takes any server of the lab; an Adatum shell on TREY-CAS1 reads
    # TREY-CAS1's own folders and Application log, as an admin logged on to it would.
    receive = f"{LOGS}\\FrontEnd\\ProtocolLog\\SmtpReceive"
    listed, error = _run(lab, f'Get-ChildItem "{receive}"', server="TREY-CAS1")
    assert error is None, error
    assert any("RECV" in line for line in listed.splitlines()), listed
    events, error = _run(
        lab, "Get-EventLog Application -ComputerName TREY-CAS1", server="TREY-CAS1"
    )
    assert error is None or "No matches found" in error, error
    _, error = _run(lab, "Get-EventLog Application -ComputerName TREY-MBX1", server="TREY-CAS1")
    assert error is not None and "network path was not found" in error
