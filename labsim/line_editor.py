"""The line editor of ``labsim shell`` at a terminal: prompt_toolkit over :mod:`labsim.completion`.

Owns :class:`LineReader` (one prompt at a time: editing keys, a persistent history file, Tab
completion from the current :class:`~labsim.completion.Vocabulary`) and :func:`is_interactive`,
which the CLI uses to choose between this editor and the piped transcript mode.

Rules kept:

* No Twisted, no lab: the editor runs in a thread of its own or in a process of its own, and
  learns about the lab only through the vocabulary callable it is given.
* ``read`` returns a line, ``""`` when Ctrl-C cancelled the line (the caller shows a new prompt),
  and None at Ctrl-D on an empty line or the end of input; it prints nothing besides the prompt
  and what the user types.
* Any thread: prompt_toolkit runs its own asyncio loop in the calling thread, and installs its
  SIGINT handler only in the main thread (``Application.run_async`` turns ``handle_sigint`` off
  elsewhere). Ctrl-C at the prompt needs no signal anyway: the terminal is in raw mode while the
  prompt runs, so it arrives as a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer
from prompt_toolkit.completion import Completion as PromptCompletion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output, create_output
from prompt_toolkit.output.vt100 import Vt100_Output

from labsim.completion import Vocabulary, complete
from labsim.errors import LabsimError


class VocabularyCompleter(Completer):
    """prompt_toolkit's completer over :func:`labsim.completion.complete`.

    ``vocabulary`` is called on every completion request: the lab's objects change after each
    line (a new connector, a queue), so the editor never keeps an old vocabulary.
    """

    def __init__(self, vocabulary: Callable[[], Vocabulary]) -> None:
        self.vocabulary = vocabulary

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[PromptCompletion]:
        """The completions of the text before the cursor."""
        try:
            vocabulary = self.vocabulary()
        except (LabsimError, OSError, ValueError):
            # The lab behind the callable is gone, refused, or answered nonsense: Tab offers
            # nothing, and the next line reports what happened (a traceback inside the prompt
            # would not). Anything else is a bug and surfaces.
            return
        for c in complete(vocabulary, document.text_before_cursor):
            yield PromptCompletion(
                c.text, start_position=c.start_position, display=c.display, display_meta=c.meta
            )


class LineReader:
    """Reads shell lines with editing, history (kept in ``history_path``) and Tab completion.

    ``input`` and ``output`` default to the terminal (prompt_toolkit's choice from stdin and
    stdout, without cursor position requests); tests pass ``create_pipe_input()`` and
    ``DummyOutput()``. The folder of ``history_path`` is created when missing (mode 0700).
    """

    def __init__(
        self,
        history_path: Path,
        vocabulary: Callable[[], Vocabulary],
        *,
        input: Input | None = None,
        output: Output | None = None,
    ) -> None:
        history_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.history_path = history_path
        if output is None:
            output = create_output()
            if isinstance(output, Vt100_Output):
                # No cursor position requests: a terminal that never answers them (pexpect,
                # some CI ptys) would get prompt_toolkit's CPR warning printed, and a late answer
                # would land in the input after the prompt. Without them the editor still draws
                # well (space for the completion menu is reserved below the line).
                output.enable_cpr = False
        self.session: PromptSession[str] = PromptSession(
            history=FileHistory(str(history_path)),
            completer=VocabularyCompleter(vocabulary),
            # Completion on Tab only, as in PowerShell: a menu opening at every keystroke would
            # get in the way of typing, and ask for the vocabulary each time.
            complete_while_typing=False,
            input=input,
            output=output,
        )
        """The prompt_toolkit session (its key bindings and buffer, for the CLI and tests)."""

    def read(self, prompt: str) -> str | None:
        """Show ``prompt`` and return the line typed: ``""`` after Ctrl-C, None after Ctrl-D on
        an empty line or at the end of input."""
        try:
            return self.session.prompt(prompt)
        except KeyboardInterrupt:
            return ""
        except EOFError:
            return None


def is_interactive(stdin: TextIO | None, stdout: TextIO | None) -> bool:
    """Whether both streams are terminals (the line editor's case; otherwise the transcript mode).

    A missing, closed or detached stream counts as not a terminal.
    """
    try:
        return stdin is not None and stdout is not None and stdin.isatty() and stdout.isatty()
    except (ValueError, OSError):  # closed or detached
        return False
