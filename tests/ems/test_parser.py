"""The EMS grammar: every syntax form the walkthrough and the reference use."""

from __future__ import annotations

import pytest

from labsim.ems.parser import (
    Argument,
    HashTable,
    ParameterArgument,
    PositionalArgument,
    Value,
    parse,
)
from labsim.errors import CmdletError


def one(text: str) -> tuple[Argument, ...]:
    """The arguments of the single command in ``text``."""
    (pipeline,) = parse(text)
    (call,) = pipeline.commands
    return call.arguments


def values(text: str) -> list[Value]:
    """The values of the arguments of the single command in ``text``."""
    return [a.value for a in one(text)]


def test_named_parameter_with_bare_word() -> None:
    params = one("Set-TransportConfig -TLSSendDomainSecureList treyresearch.net")
    assert isinstance(params[0], ParameterArgument)
    assert params[0].name == "TLSSendDomainSecureList" and not params[0].has_value
    assert isinstance(params[1], PositionalArgument) and params[1].value == "treyresearch.net"


def test_en_dash_is_a_hyphen() -> None:
    (param, value) = one("Set-TransportConfig \u2013TLSReceiveDomainSecureList treyresearch.net")
    assert isinstance(param, ParameterArgument) and param.name == "TLSReceiveDomainSecureList"
    assert isinstance(value, PositionalArgument) and value.value == "treyresearch.net"


def test_colon_form_with_booleans() -> None:
    (a, b) = one("Set-SendConnector \u2013DomainSecureEnabled:$true -Enabled:$false")
    assert a == ParameterArgument("DomainSecureEnabled", True, True, a.position)
    assert isinstance(b, ParameterArgument) and b.value is False and b.has_value


def test_variables_true_false_null_any_case() -> None:
    got = values("X $True $FALSE $null")
    assert got == [True, False, None]


def test_quoted_strings() -> None:
    got = values("""X "To TreyResearch" 'it''s' "say ""hi"" `t" ''""")
    assert got == ["To TreyResearch", "it's", 'say "hi" \t', ""]


def test_bare_words_with_colons_backslashes_and_dots() -> None:
    got = values(r"X 0.0.0.0:25 TreyResearch\root-ca.cer Cert:\LocalMachine\Root")
    assert got == ["0.0.0.0:25", r"TreyResearch\root-ca.cer", r"Cert:\LocalMachine\Root"]


def test_comma_lists() -> None:
    got = values('X a.com,b.com "c d", "e"')
    assert got == [("a.com", "b.com"), ("c d", "e")]


def test_comma_at_line_end_continues_the_list() -> None:
    (value,) = one("X a.com,\n   b.com")
    assert isinstance(value, PositionalArgument) and value.value == ("a.com", "b.com")


def test_array_subexpression_and_parentheses() -> None:
    got = values('X @("a","b") (c, d)')
    assert got == [("a", "b"), ("c", "d")]


def test_hashtable_add_remove() -> None:
    (_, value) = one(
        'Set-TransportConfig -TLSReceiveDomainSecureList @{Add="woodgrovebank.com"; Remove="old.com"}'
    )
    assert isinstance(value, PositionalArgument)
    table = value.value
    assert isinstance(table, HashTable)
    assert table.get("add") == "woodgrovebank.com" and table.get("REMOVE") == "old.com"


def test_hashtable_with_list_value_and_newlines() -> None:
    (_, value) = one('X -L @{\n  Add="x","y"\n  Remove=z\n}')
    assert isinstance(value, PositionalArgument) and isinstance(value.value, HashTable)
    assert value.value.get("Add") == ("x", "y") and value.value.get("Remove") == "z"


def test_pipelines_lines_comments_and_semicolons() -> None:
    text = """
    # configure
    Get-SendConnector | Set-SendConnector -Enabled $false   # trailing comment

    Get-TransportConfig |
        FL; Get-ReceiveConnector
    """
    pipelines = parse(text)
    assert [[c.name for c in p.commands] for p in pipelines] == [
        ["Get-SendConnector", "Set-SendConnector"],
        ["Get-TransportConfig", "FL"],
        ["Get-ReceiveConnector"],
    ]
    assert pipelines[0].text == "Get-SendConnector | Set-SendConnector -Enabled $false"


def test_backtick_continues_a_line() -> None:
    (pipeline,) = parse("New-SendConnector -Name x `\n   -AddressSpaces y.com")
    assert [a.name for a in pipeline.commands[0].arguments if isinstance(a, ParameterArgument)] == [
        "Name",
        "AddressSpaces",
    ]


def test_negative_number_is_a_value() -> None:
    (value,) = one("X -5")
    assert isinstance(value, PositionalArgument) and value.value == "-5"


def test_typographic_quotes() -> None:
    (value,) = one("X \u201cTo TreyResearch\u201d")
    assert isinstance(value, PositionalArgument) and value.value == "To TreyResearch"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('X "abc', 'The string is missing the terminator: ".'),
        ("X 'abc", "The string is missing the terminator: '."),
        ("X | | Y", "An empty pipe element is not allowed."),
        ("X |", "An empty pipe element is not allowed."),
        ("X @{Add='a'", "The hash literal was incomplete."),
        ("X @{Add 'a'}", "Missing '=' operator after key in hash literal."),
        ("X a,", "Missing expression after ','."),
        ("X $ a", "Variable reference is not valid."),
        ("X )", "Unexpected token ')'"),
    ],
)
def test_syntax_errors_name_the_place(text: str, message: str) -> None:
    with pytest.raises(CmdletError) as info:
        parse(text)
    assert message in str(info.value)
    assert str(info.value).startswith("At line:1 char:")
    assert info.value.category == "ParseException"


def test_error_position_on_second_line() -> None:
    with pytest.raises(CmdletError, match=r"At line:2 char:3"):
        parse('Get-TransportConfig\nX "abc')
