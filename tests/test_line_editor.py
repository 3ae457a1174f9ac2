"""The line editor of ``labsim shell`` (labsim.line_editor), driven as a user would drive it.

A real prompt_toolkit session reads keys from a pipe (``create_pipe_input``) and draws into a
dummy or plain-text output. Every read runs in a worker thread that the test joins with a
timeout, so a prompt that never returns fails the test instead of hanging the suite; closing the
pipe (the fixture does it) ends any prompt still waiting.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput, Output
from prompt_toolkit.output.plain_text import PlainTextOutput

from labsim.completion import Identities, Identity, IdentityKind, Vocabulary, catalog_words
from labsim.line_editor import LineReader, VocabularyCompleter, is_interactive

PROMPT = "[PS] Adatum> "
TIMEOUT = 20.0  # seconds a read may take before the test fails (never waited for when it works)

VOCABULARY = Vocabulary(
    catalog_words(),
    (Identities(IdentityKind.SEND_CONNECTOR, (Identity("To Partner"),)),),
    organization="Adatum",
)


@pytest.fixture
def keys() -> Iterator[PipeInput]:
    """The keyboard: text sent here is what the user types."""
    with create_pipe_input() as pipe:
        yield pipe


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """A history file in a folder that does not exist yet."""
    return tmp_path / "state" / "shell-history"


def make_reader(
    keys: PipeInput,
    history: Path,
    vocabulary: Callable[[], Vocabulary] = lambda: VOCABULARY,
    output: Output | None = None,
) -> LineReader:
    return LineReader(history, vocabulary, input=keys, output=output or DummyOutput())


def read(reader: LineReader, prompt: str = PROMPT) -> str | None:
    """``reader.read`` in a worker thread (also the non-main-thread case the lead needs)."""
    results: list[str | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(reader.read(prompt))
        except BaseException as err:  # reported in the test's thread
            errors.append(err)

    worker = threading.Thread(target=run, name="line-reader")
    worker.start()
    worker.join(TIMEOUT)
    assert not worker.is_alive(), "the prompt did not return"
    if errors:
        raise errors[0]
    return results[0]


def test_a_line_typed_and_entered_is_returned(keys: PipeInput, history: Path) -> None:
    reader = make_reader(keys, history)
    keys.send_text("Get-SendConnector | fl\r")
    assert read(reader) == "Get-SendConnector | fl"
    assert history.parent.is_dir()
    assert "+Get-SendConnector | fl" in history.read_text(encoding="utf-8")


def test_up_arrow_recalls_the_previous_line(keys: PipeInput, history: Path) -> None:
    reader = make_reader(keys, history)
    keys.send_text("Get-TransportConfig\r")
    assert read(reader) == "Get-TransportConfig"
    keys.send_text("Get-Queue\r")
    assert read(reader) == "Get-Queue"
    keys.send_text("\x1b[A\x1b[A\r")
    assert read(reader) == "Get-TransportConfig"


def test_history_persists_across_readers_over_the_same_file(history: Path) -> None:
    with create_pipe_input() as first_keys:
        first = make_reader(first_keys, history)
        first_keys.send_text("Set-TransportConfig -TLSSendDomainSecureList treyresearch.net\r")
        assert read(first) == "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net"
    with create_pipe_input() as second_keys:
        second = make_reader(second_keys, history)
        second_keys.send_text("\x1b[A\r")
        assert read(second) == "Set-TransportConfig -TLSSendDomainSecureList treyresearch.net"


def enter_when(reader: LineReader, keys: PipeInput, text: str) -> None:
    """Press Enter once the line reads ``text`` (completion is applied asynchronously, after
    the keys that asked for it; Enter in the same burst would come first)."""

    def changed(buffer: Buffer) -> None:
        if buffer.text == text:
            keys.send_text("\r")

    reader.session.default_buffer.on_text_changed += changed


def test_tab_completes_a_cmdlet_name(keys: PipeInput, history: Path) -> None:
    reader = make_reader(keys, history)
    enter_when(reader, keys, "Get-SendConnector")
    keys.send_text("Get-Sen\t")
    assert read(reader) == "Get-SendConnector"


def test_tab_completes_from_the_vocabulary_of_the_moment(keys: PipeInput, history: Path) -> None:
    vocabularies = [Vocabulary(catalog_words()), VOCABULARY]
    reader = make_reader(keys, history, vocabulary=lambda: vocabularies[0])
    vocabularies.pop(0)  # the connector was created after the reader
    enter_when(reader, keys, 'set-sendconnector "To Partner"')
    keys.send_text('set-sendconnector "To\t')
    # The cmdlet name stays as typed; the identity is completed and quoted.
    assert read(reader) == 'set-sendconnector "To Partner"'


def test_ctrl_c_cancels_the_line_and_the_next_read_works(keys: PipeInput, history: Path) -> None:
    reader = make_reader(keys, history)
    keys.send_text("Remove-SendConnector oops\x03")
    assert read(reader) == ""
    keys.send_text("Get-SendConnector\r")
    assert read(reader) == "Get-SendConnector"
    assert "oops" not in history.read_text(encoding="utf-8")


def test_ctrl_d_on_an_empty_line_or_the_end_of_input_returns_none(
    keys: PipeInput, history: Path
) -> None:
    reader = make_reader(keys, history)
    keys.send_text("\x04")
    assert read(reader) is None
    # On a line with text Ctrl-D edits (deletes under the cursor) instead of leaving.
    keys.send_text("Get-Queue\x04\r")
    assert read(reader) == "Get-Queue"
    keys.close()
    assert read(reader) is None


def test_reading_in_the_main_thread(keys: PipeInput, history: Path) -> None:
    reader = make_reader(keys, history)
    keys.send_text("Get-Mailbox\r")
    keys.close()  # should the prompt not return on Enter, the end of input still ends it
    assert reader.read(PROMPT) == "Get-Mailbox"


def test_the_editor_prints_only_the_prompt_and_the_line(keys: PipeInput, history: Path) -> None:
    screen = io.StringIO()
    reader = make_reader(keys, history, output=PlainTextOutput(screen))
    keys.send_text("Remove-SendConnector oops\x03")
    assert read(reader) == ""
    enter_when(reader, keys, "Get-SendConnector")
    keys.send_text("Get-Sen\t")
    assert read(reader) == "Get-SendConnector"
    words = re.sub(r"\s+", " ", screen.getvalue()).replace(PROMPT.strip(), " ").split()
    assert set(words) <= {"Remove-SendConnector", "oops", "Get-Sen", "Get-SendConnector"}


# -- the completer adapter -----------------------------------------------------------------------


def test_the_completer_asks_for_the_vocabulary_every_time() -> None:
    calls: list[int] = []

    def vocabulary() -> Vocabulary:
        calls.append(1)
        return VOCABULARY

    completer = VocabularyCompleter(vocabulary)
    event = CompleteEvent(completion_requested=True)
    for _ in range(2):
        found = list(completer.get_completions(Document("get-sen"), event))
        assert [(c.text, c.start_position, c.display_text) for c in found] == [
            ("Get-SendConnector", -7, "Get-SendConnector")
        ]
        assert found[0].display_meta_text
    assert len(calls) == 2


def test_a_vocabulary_that_cannot_be_had_gives_no_completions() -> None:
    def gone() -> Vocabulary:
        raise ConnectionError("the lab stopped")

    completer = VocabularyCompleter(gone)
    event = CompleteEvent(completion_requested=True)
    assert list(completer.get_completions(Document("Get-"), event)) == []


# -- choosing the mode ---------------------------------------------------------------------------


class Terminal(io.StringIO):
    """A stream that says it is a terminal (and, closed, fails as a real one does)."""

    def isatty(self) -> bool:
        super().isatty()  # ValueError once closed
        return True


def test_is_interactive_only_when_both_streams_are_terminals() -> None:
    assert is_interactive(Terminal(), Terminal())
    assert not is_interactive(io.StringIO(), Terminal())
    assert not is_interactive(Terminal(), io.StringIO())
    assert not is_interactive(None, Terminal())
    closed = Terminal()
    closed.close()
    assert not is_interactive(closed, Terminal())


def test_the_editor_loads_no_twisted() -> None:
    probe = (
        "import sys, labsim.line_editor\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'twisted'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_shell_output_at_a_terminal_has_ems_colours_and_none_without() -> None:
    """Errors red and warnings yellow, as EMS shows them; plain text untouched; nothing at all
    when colour is off (NO_COLOR, a pipe)."""
    from labsim.terminal import Palette, shell_output

    text = (
        "Get-SendConnector: The operation couldn't be performed because object 'x' couldn't "
        "be found on 'DC1.adatum.com'.\n"
        "WARNING: The command completed successfully but no settings have been modified.\n"
        "Identity  AddressSpaces"
    )
    painted = shell_output(text, Palette(True)).split("\n")
    assert painted[0].startswith("\x1b[31mGet-SendConnector:") and painted[0].endswith("\x1b[0m")
    assert painted[1].startswith("\x1b[33mWARNING:")
    assert painted[2] == "Identity  AddressSpaces"
    assert shell_output(text, Palette(False)) == text
