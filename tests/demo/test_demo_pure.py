"""The demo's pure parts: wrapping and colour (labsim.terminal), hop lines from decision notes
(labsim.demo_hops), scenario comments as narration (labsim.demo_file), and the stories as data
(labsim.demo_story): every message a chapter sends has its outcome pinned."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from labsim.demo_file import chapter_from_file
from labsim.demo_hops import hops, rule_text, unrouted
from labsim.demo_story import (
    CHAPTERS,
    chapter_scenario,
    chapters,
    hosted_filtering_lab,
    story,
)
from labsim.errors import UsageError
from labsim.model.lab import default_lab
from labsim.scenario.model import (
    ExpectDelivered,
    ExpectNotDelivered,
    ExpectQueued,
    SendStep,
)
from labsim.terminal import WIDTH, Palette, colour_wanted, mark_line, strip_escapes, wrap

ROOT = Path(__file__).resolve().parents[2]


# --- labsim.terminal ---------------------------------------------------------------------------


def test_wrap_breaks_at_words_with_a_hanging_indent() -> None:
    text = "word " * 60
    lines = wrap(text.strip(), indent="  ", hanging="    ")
    assert len(lines) > 1
    assert all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("  word")
    assert all(line.startswith("      word") for line in lines[1:])
    assert " ".join(line.strip() for line in lines) == text.strip()


def test_wrap_breaks_a_word_longer_than_the_line() -> None:
    lines = wrap("x" * 250, indent="    ")
    assert all(len(line) <= WIDTH for line in lines)
    assert "".join(line.strip() for line in lines) == "x" * 250


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert colour_wanted(_Stream(True), {}) is True
    assert colour_wanted(_Stream(False), {}) is False
    assert colour_wanted(_Stream(True), {"NO_COLOR": "1"}) is False
    assert colour_wanted(_Stream(True), {"TERM": "dumb"}) is False
    # An empty NO_COLOR does not count (no-color.org).
    assert colour_wanted(_Stream(True), {"NO_COLOR": ""}) is True


def test_palette_paints_only_when_enabled() -> None:
    assert Palette(False).cmdlet("Get-Queue") == "Get-Queue"
    painted = Palette(True).cmdlet("Get-Queue")
    assert painted != "Get-Queue" and "\x1b[" in painted
    assert strip_escapes(painted) == "Get-Queue"


def test_mark_line_colours_the_run_marks() -> None:
    on = Palette(True)
    assert mark_line("✔ step 1 (ems): x", on).startswith("\x1b[")
    assert strip_escapes(mark_line("✘ step 2 (send): y", on)) == "✘ step 2 (send): y"
    assert mark_line("    detail", on) == "    detail"
    assert mark_line("✔ step 1 (ems): x", Palette(False)) == "✔ step 1 (ems): x"


# --- labsim.demo_hops --------------------------------------------------------------------------

_SERVERS = {"127.0.10.1": "ADATUM-CAS1", "127.0.10.2": "ADATUM-MBX1"}


def test_rule_text_moves_the_citation_and_drops_permissions() -> None:
    note = (
        "docs/exchange-reference.md §5.3: sender domain adatum.com is in "
        "TLSReceiveDomainSecureList; session identity Partner; permissions: SMTPSubmit X"
    )
    assert rule_text(note) == (
        "sender domain adatum.com is in TLSReceiveDomainSecureList; session identity Partner (§5.3)"
    )
    assert rule_text("plain note") == "plain note"


def test_hops_pick_the_refusal_else_the_receivers_check() -> None:
    notes = [
        ("ADATUM-MBX1", "docs/exchange-reference.md §4.1.7: send connector 'To T' matches"),
        (
            "TREY-CAS1",
            "docs/exchange-reference.md §5.1: TREY-CAS1\\From Adatum is bound to 127.0.20.1:25 "
            "and its RemoteIPRanges entry 127.0.10.1 (1 address) is the most specific match for "
            "127.0.10.1",
        ),
        ("ADATUM-CAS1", "docs/exchange-reference.md §4.2: STARTTLS offered; opportunistic TLS"),
        ("TREY-CAS1", "docs/exchange-reference.md §5.3: sender domain adatum.com is fine"),
        (
            "TREY-MBX1",
            "docs/exchange-reference.md §5.1: TREY-MBX1\\Default TREY-MBX1 is bound to "
            "127.0.20.2:2525 and its RemoteIPRanges entry 0.0.0.0-255.255.255.255 (4294967296 "
            "addresses) is the most specific match for 127.0.20.1",
        ),
        ("TREY-MBX1", "docs/exchange-reference.md §5.3: refused: 451 4.7.3 The admin has"),
    ]
    names = dict(_SERVERS, **{"127.0.20.1": "TREY-CAS1"})
    found = hops(notes, names.get)
    assert [(h.sender, h.receiver, h.connector) for h in found] == [
        ("ADATUM-CAS1", "TREY-CAS1", "TREY-CAS1\\From Adatum"),
        ("TREY-CAS1", "TREY-MBX1", "TREY-MBX1\\Default TREY-MBX1"),
    ]
    assert found[0].rule == "sender domain adatum.com is fine (§5.3)" and not found[0].refused
    assert found[1].rule == "refused: 451 4.7.3 The admin has (§5.3)" and found[1].refused
    assert unrouted(notes) == []


def test_a_message_without_a_hop_is_told_by_its_refusal() -> None:
    notes = [
        ("ADATUM-MBX1", "categorizer: treyresearch.net is not an accepted domain"),
        (
            "ADATUM-MBX1",
            "docs/exchange-reference.md §4.1.7: no send connector covers treyresearch.net; "
            "'550 5.4.4 ROUTING.NoConnectorForAddressType; unable to route'",
        ),
    ]
    assert hops(notes, _SERVERS.get) == []
    assert unrouted(notes) == [
        (
            "ADATUM-MBX1",
            "no send connector covers treyresearch.net; "
            "'550 5.4.4 ROUTING.NoConnectorForAddressType; unable to route' (§4.1.7)",
        )
    ]


# --- labsim.demo_file --------------------------------------------------------------------------


def test_a_catalog_file_reads_as_a_chapter() -> None:
    path = ROOT / "scenarios" / "breakfix" / "07-partner-connector-wrong-remote-ip.toml"
    chapter = chapter_from_file(path)
    assert chapter.title == "Break-fix: Partner receive connector misses the partner's IP"
    assert chapter.intro[0].startswith("BREAKS: TreyResearch's Partner receive connector")
    assert any(p.startswith("HOW AN ADMIN FINDS IT: ") for p in chapter.intro)
    assert chapter.intro[-1].startswith("FIX: Set-ReceiveConnector")
    # The fix section titles the steps after it; expectations stay with their action.
    assert chapter.steps[-1].title == "The fix"
    assert [b.step.kind for b in chapter.steps[-1].beats] == ["ems", "ems", "expect.delivered"]
    assert len(chapter_scenario(chapter).steps) == 9
    assert chapter.inboxes == ("ben@treyresearch.net",)


def test_step_comments_become_captions(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "# Intro line one\n# continues.\n#\n# Second paragraph.\n"
        'title = "T"\n\n'
        "# said before the send\n"
        "[[step]]\n"
        'send = { from = "april@adatum.com", to = ["ben@treyresearch.net"], subject = "S" }\n\n'
        "[[step]]   # on the step line\n"
        "           # and under it\n"
        'expect.delivered = { to = "ben@treyresearch.net", subject = "S" }\n',
        encoding="utf-8",
    )
    chapter = chapter_from_file(path)
    assert chapter.intro == ("Intro line one continues.", "Second paragraph.")
    beats = chapter.beats
    assert beats[0].caption == ("said before the send",)
    assert beats[1].caption == ("on the step line and under it",)


# --- labsim.demo_story -------------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n, _ in CHAPTERS if n != "traps"])
def test_every_message_of_a_chapter_has_its_outcome_pinned(name: str) -> None:
    (chapter,) = chapters(name)
    steps = chapter_scenario(chapter).steps
    assert [s.number for s in steps] == list(range(1, len(steps) + 1))
    for send in (s for s in steps if isinstance(s, SendStep)):
        delivered = [
            s for s in steps if isinstance(s, ExpectDelivered) and s.subject == send.subject
        ]
        stopped = [
            s
            for s in steps
            if isinstance(s, ExpectNotDelivered | ExpectQueued)
            and getattr(s, "subject", None) == send.subject
        ]
        # Delivered: with or without the check, pinned; not delivered: its LastError pinned.
        assert all(s.domain_secured is not None for s in delivered), send.subject
        assert delivered or stopped, send.subject
        if stopped:
            assert any(isinstance(s, ExpectQueued) and s.last_error for s in steps), send.subject


def test_the_traps_chapter_is_every_trap() -> None:
    names = [c.name for c in chapters("traps")]
    assert names == ["remote-ip", "self-signed", "san", "hosted-filtering", "mutual-tls-light"]


def test_unknown_chapter_names_the_known_ones() -> None:
    with pytest.raises(
        UsageError, match="--chapter nope: no such chapter; use one of story, traps"
    ):
        chapters("nope")


def test_a_lab_without_two_organizations_cannot_tell_the_story() -> None:
    lab = default_lab()
    one = type(lab)(lab.name, lab.organizations[:1])
    with pytest.raises(UsageError, match="--lab x.toml: the demo's story needs two organizations"):
        story(one, "--lab x.toml")


def test_the_story_explains_the_en_dash_and_uses_it() -> None:
    chapter = story()
    text = "\n".join(p for step in chapter.steps for p in step.narration)
    assert "en dash (–)" in text and "type a plain hyphen" in text
    ems = "\n".join(getattr(b.step, "ems", "") for b in chapter.beats)
    assert "Set-TransportConfig –TLSReceiveDomainSecureList treyresearch.net" in ems


def test_the_shipped_hosted_filtering_lab_is_the_one_in_labs() -> None:
    shipped = (ROOT / "labsim" / "data" / "hosted-filtering.toml").read_text(encoding="utf-8")
    assert shipped == (ROOT / "labs" / "hosted-filtering.toml").read_text(encoding="utf-8")
    assert hosted_filtering_lab().name == "hosted-filtering"


def test_the_story_and_the_screen_rules_import_no_twisted() -> None:
    """The stories, hop lines, file narration and screen rules are pure (a web presenter or a
    test reads them without a reactor); only labsim.demo, the terminal presenter, runs labs."""
    import subprocess
    import sys

    code = (
        "import sys, labsim.terminal, labsim.demo_story, labsim.demo_hops, labsim.demo_file; "
        "labsim.demo_story.chapters('traps'); "
        "sys.exit('twisted' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=False).returncode == 0
