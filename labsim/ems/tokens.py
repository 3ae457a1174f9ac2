"""Lexical rules of the Exchange Management Shell (PowerShell argument mode), as labsim reads them.

Owns the character classes and the small readers the parser is built from: which characters act as
a hyphen (PowerShell accepts the en dash, em dash and horizontal bar that word processors put in
articles, such as the seed's ``–TLSReceiveDomainSecureList``), which act as quotes (typographic
quotes count too), how single- and double-quoted strings escape, and where a bare word ends.

Positions are reported as PowerShell does, ``At line:N char:M`` (1-based), so a syntax error can
point at the place in a multi-line block.
"""

from __future__ import annotations

from dataclasses import dataclass

from labsim.errors import CmdletError

DASHES = frozenset("-\u2013\u2014\u2015")
"""Characters PowerShell treats as the hyphen that starts a parameter name."""

SINGLE_QUOTES = frozenset("'\u2018\u2019\u201a\u201b")
"""Characters PowerShell treats as a single quote."""

DOUBLE_QUOTES = frozenset('"\u201c\u201d\u201e')
"""Characters PowerShell treats as a double quote."""

BLANKS = frozenset(" \t\f\v\u00a0")
"""Whitespace inside a line (newlines are statement separators, handled by the parser)."""

NEWLINES = frozenset("\r\n")
"""Line ends."""

# A bare word ends at any of these (outside quotes); '=' is added inside a hashtable key.
WORD_END = frozenset(" \t\f\v\u00a0\r\n,|;(){}")


@dataclass(frozen=True)
class Position:
    """A place in the text: 1-based line and character, as PowerShell's ``At line:N char:M``."""

    line: int
    char: int

    def __str__(self) -> str:
        return f"At line:{self.line} char:{self.char}"


def not_supported(what: str, position: Position) -> CmdletError:
    """PowerShell's error for language it won't run (as in Exchange's no-language remote
    sessions), naming what labsim's shell does not take and what it does."""
    return CmdletError(
        f"{position}: The syntax is not supported by this runspace. This can occur if the "
        f"runspace is in no-language mode. labsim's shell does not take {what}; it takes "
        "cmdlets and pipelines, Where-Object/Select-Object/ForEach-Object, $variables and "
        "(pipeline).Property.",
        cmdlet="",
        category="ParseException",
    )


def parse_error(message: str, position: Position) -> CmdletError:
    """A syntax error in PowerShell's words, prefixed with the place (category ParseException)."""
    return CmdletError(f"{position}: {message}", cmdlet="", category="ParseException")


class Scanner:
    """A cursor over shell text with the readers the parser needs; never backs up past a line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0

    # -- position -----------------------------------------------------------------------------

    def position(self, index: int | None = None) -> Position:
        """The line/char of ``index`` (default: the cursor)."""
        at = self.index if index is None else index
        line = self.text.count("\n", 0, at) + 1
        start = self.text.rfind("\n", 0, at) + 1
        return Position(line, at - start + 1)

    def at_end(self) -> bool:
        """True when the whole text has been read."""
        return self.index >= len(self.text)

    def peek(self, offset: int = 0) -> str:
        """The character at the cursor (plus ``offset``), or "" past the end."""
        at = self.index + offset
        return self.text[at] if at < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        """Move the cursor forward."""
        self.index += count

    # -- blanks, comments, continuations ------------------------------------------------------

    def skip_blanks(self, *, newlines: bool = False) -> None:
        """Skip spaces, ``#`` comments, and backtick line continuations (and newlines if asked)."""
        while not self.at_end():
            ch = self.peek()
            if ch in BLANKS or (newlines and ch in NEWLINES):
                self.advance()
            elif ch == "`" and self.peek(1) in NEWLINES and self.peek(1) != "":
                # A backtick just before the line end joins the next line to this one.
                self.advance()
                if self.peek() == "\r" and self.peek(1) == "\n":
                    self.advance()
                self.advance()
            elif ch == "#":
                while not self.at_end() and self.peek() not in NEWLINES:
                    self.advance()
            else:
                return

    # -- readers -------------------------------------------------------------------------------

    def read_single_quoted(self) -> str:
        """Read ``'...'`` (cursor on the quote); ``''`` stands for one quote, nothing is expanded."""
        start = self.index
        self.advance()
        out: list[str] = []
        while True:
            if self.at_end():
                raise parse_error("The string is missing the terminator: '.", self.position(start))
            ch = self.peek()
            if ch in SINGLE_QUOTES:
                if self.peek(1) in SINGLE_QUOTES and self.peek(1) != "":
                    out.append("'")
                    self.advance(2)
                    continue
                self.advance()
                return "".join(out)
            out.append(ch)
            self.advance()

    def read_double_quoted(self) -> str:
        """Read ``"..."`` (cursor on the quote); backtick escapes and ``""`` are honoured.

        Variables inside double quotes are not expanded: a ``$`` in a quoted value (a banner, a
        password-like comment) is far more often meant literally in what admins type to
        Exchange cmdlets than as a variable.
        """
        start = self.index
        self.advance()
        out: list[str] = []
        escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b"}
        while True:
            if self.at_end():
                raise parse_error('The string is missing the terminator: ".', self.position(start))
            ch = self.peek()
            if ch == "`" and self.peek(1) != "":
                nxt = self.peek(1)
                out.append(escapes.get(nxt, nxt))
                self.advance(2)
                continue
            if ch in DOUBLE_QUOTES:
                if self.peek(1) in DOUBLE_QUOTES and self.peek(1) != "":
                    out.append('"')
                    self.advance(2)
                    continue
                self.advance()
                return "".join(out)
            out.append(ch)
            self.advance()

    def read_bare_word(self, extra_end: frozenset[str] = frozenset()) -> str:
        """Read an unquoted word; quoted pieces inside it are joined in (``a"b c"`` → ``ab c``)."""
        out: list[str] = []
        while not self.at_end():
            ch = self.peek()
            if ch in WORD_END or ch in extra_end:
                break
            if ch == "`" and self.peek(1) in NEWLINES:
                break
            if ch == "`" and self.peek(1) != "":
                out.append(self.peek(1))
                self.advance(2)
                continue
            if ch in SINGLE_QUOTES:
                out.append(self.read_single_quoted())
                continue
            if ch in DOUBLE_QUOTES:
                out.append(self.read_double_quoted())
                continue
            out.append(ch)
            self.advance()
        return "".join(out)

    def at_parameter(self) -> bool:
        """True when the cursor is on ``-Name`` (a dash followed by a letter, ``_`` or ``?``)."""
        nxt = self.peek(1)
        return self.peek() in DASHES and nxt != "" and (nxt.isalpha() or nxt in "_?")

    def read_parameter_name(self) -> tuple[str, bool]:
        """Read ``-Name`` or ``-Name:`` (cursor on the dash); return (name, colon_given)."""
        self.advance()
        out: list[str] = []
        while not self.at_end():
            ch = self.peek()
            if ch in WORD_END or ch in SINGLE_QUOTES or ch in DOUBLE_QUOTES:
                break
            if ch == ":":
                self.advance()
                return "".join(out), True
            out.append(ch)
            self.advance()
        return "".join(out), False
