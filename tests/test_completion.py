"""Tab completion of ``labsim shell`` (labsim.completion): what Tab offers after a given text.

The cases read as "typed … → offered …". Most run on a vocabulary built from the real catalog
and a few hand-written objects; the vocabulary of a real running lab is checked against the
lab's own configuration, and a property test feeds completion arbitrary text.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labsim.completion import (
    LAB_COMMANDS,
    Completion,
    Identities,
    Identity,
    IdentityKind,
    Vocabulary,
    catalog_words,
    complete,
    short_type_name,
    vocabulary_for,
)
from labsim.ems.binding import parameters_of
from labsim.ems.cmdlets import default_catalog
from labsim.ems.conversions import ConversionError
from labsim.lab import Lab
from labsim.model.lab import default_lab

OBJECTS = (
    Identities(
        IdentityKind.SEND_CONNECTOR,
        (Identity("To Partner", "SMTP:treyresearch.net;1"), Identity("Internet")),
    ),
    Identities(
        IdentityKind.RECEIVE_CONNECTOR,
        (
            Identity("ADATUM-CAS1\\Default Frontend ADATUM-CAS1"),
            Identity("ADATUM-MBX1\\Default ADATUM-MBX1"),
        ),
    ),
    Identities(IdentityKind.SERVER, (Identity("ADATUM-CAS1"), Identity("ADATUM-MBX1"))),
    Identities(
        IdentityKind.LAB_SERVER,
        (
            Identity("ADATUM-CAS1"),
            Identity("ADATUM-MBX1"),
            Identity("TREY-CAS1"),
            Identity("TREY-MBX1"),
        ),
    ),
    Identities(IdentityKind.ORGANIZATION, (Identity("Adatum"), Identity("TreyResearch"))),
    Identities(IdentityKind.MAILBOX, (Identity("april@adatum.com"), Identity("ed@adatum.com"))),
    Identities(
        IdentityKind.LAB_MAILBOX,
        (
            Identity("april@adatum.com"),
            Identity("ed@adatum.com"),
            Identity("ben@treyresearch.net"),
        ),
    ),
    Identities(IdentityKind.CERTIFICATE, (Identity("D8F4BE81", "ADATUM-CAS1: CN=mail"),)),
    Identities(IdentityKind.LAB_CERTIFICATE, (Identity("D8F4BE81"), Identity("4D47B414"))),
    Identities(IdentityKind.QUEUE, (Identity("ADATUM-MBX1\\treyresearch.net"),)),
    Identities(IdentityKind.ACCEPTED_DOMAIN, (Identity("adatum.com"),)),
)

VOCABULARY = Vocabulary(catalog_words(), OBJECTS, LAB_COMMANDS, "Adatum")


def offered(text: str, vocabulary: Vocabulary = VOCABULARY) -> list[str]:
    """The texts Tab would insert after ``text``."""
    return [c.text for c in complete(vocabulary, text)]


# -- cmdlet names --------------------------------------------------------------------------------


def test_a_cmdlet_name_completes_case_insensitively_in_the_catalog_spelling() -> None:
    assert complete(VOCABULARY, "get-sen") == [
        Completion(
            "Get-SendConnector",
            -7,
            "Get-SendConnector",
            default_catalog().find("Get-SendConnector").synopsis,
        )
    ]
    assert offered("Get-Sen") == ["Get-SendConnector"]
    assert offered("set-send") == ["Set-SendConnector"]


def test_several_cmdlets_are_offered_in_alphabetical_order_and_wildcards_work() -> None:
    assert offered("Get-Lab") == ["Get-LabCrl", "Get-LabServer"]
    assert offered("*SendConnector") == [
        "Get-SendConnector",
        "New-SendConnector",
        "Remove-SendConnector",
        "Set-SendConnector",
    ]


def test_a_cmdlet_name_completes_at_the_start_of_every_statement() -> None:
    assert offered("Get-SendConnector | set-sendc") == ["Set-SendConnector"]
    assert offered("Get-TransportConfig; get-acc") == ["Get-AcceptedDomain"]
    assert offered("Get-TransportConfig |get-acc") == ["Get-AcceptedDomain"]
    assert complete(VOCABULARY, "Get-SendConnector | fo")[0].start_position == -2


def test_an_empty_line_offers_every_cmdlet_and_the_lab_commands() -> None:
    texts = offered("")
    assert set(texts) == {c.name for c in VOCABULARY.cmdlets} | {c.name for c in LAB_COMMANDS}
    # After a pipe only cmdlets can come.
    assert not any(t.startswith(":") for t in offered("Get-SendConnector | "))


# -- parameter names -----------------------------------------------------------------------------


def test_a_dash_after_a_cmdlet_completes_its_parameter_names() -> None:
    result = complete(VOCABULARY, "Set-SendConnector -Dom")
    assert [c.text for c in result] == ["-DomainSecureEnabled", "-DomainController"]
    assert result[0].start_position == -4
    assert result[0].meta == "Boolean"
    assert offered("set-sendconnector -tlsa") == ["-TlsAuthLevel"]


def test_parameters_already_given_are_not_offered_again() -> None:
    assert offered("Set-SendConnector -DomainSecureEnabled $true -Dom") == ["-DomainController"]
    # Given by a unique prefix, or by position (Identity is positional 0).
    assert "-DomainSecureEnabled" not in offered("Set-SendConnector -DomainS $true -")
    assert "-Identity" not in offered('Set-SendConnector "To Partner" -')
    assert "-Identity" in offered("Set-SendConnector -")


def test_a_lone_dash_offers_own_parameters_first_then_the_common_ones() -> None:
    texts = offered("Format-List -")
    assert texts == [
        "-Property",
        "-Confirm",
        "-ErrorAction",
        "-WarningAction",
        "-Verbose",
        "-Debug",
    ]
    # Aliases find the cmdlet too.
    assert offered("fl -Pro") == ["-Property"]


def test_typographic_dashes_start_a_parameter_and_are_replaced_by_a_hyphen() -> None:
    result = complete(VOCABULARY, "Set-TransportConfig \u2013TLSRec")
    assert [(c.text, c.start_position) for c in result] == [("-TLSReceiveDomainSecureList", -7)]


# -- values --------------------------------------------------------------------------------------


def test_an_enum_parameter_completes_its_values() -> None:
    assert offered("Set-SendConnector -TlsAuthLevel ") == [
        "EncryptionOnly",
        "CertificateValidation",
        "DomainValidation",
    ]
    assert offered("Set-SendConnector -TlsAuthLevel dom") == ["DomainValidation"]
    assert offered("New-SendConnector -Usage p") == ["Partner"]
    assert offered("New-ReceiveConnector -Usage ") == [
        "Client",
        "Custom",
        "Internal",
        "Internet",
        "Partner",
    ]
    assert offered("Set-AcceptedDomain -DomainType ext") == ["ExternalRelay"]
    assert offered("Set-ReceiveConnector -ProtocolLoggingLevel v") == ["Verbose"]


def test_a_flags_list_completes_the_item_after_the_last_comma_without_repeating() -> None:
    result = complete(VOCABULARY, "Enable-ExchangeCertificate -Services IIS,S")
    assert [(c.text, c.start_position) for c in result] == [("SMTP", -1)]
    assert "SMTP" not in offered("Enable-ExchangeCertificate -Services SMTP, ")
    assert offered("Set-ReceiveConnector -AuthMechanism Tls, ExchangeS") == ["ExchangeServer"]
    assert offered("New-LabCertificate -Eku serverAuth,c") == ["clientAuth", "codeSigning"]


def test_a_boolean_parameter_completes_true_and_false() -> None:
    assert offered("Set-SendConnector -DomainSecureEnabled ") == ["$true", "$false"]
    assert offered("Set-SendConnector -Enabled $f") == ["$false"]
    assert offered("Set-SendConnector -Enabled t") == ["$true"]
    # -Name:value
    assert offered("Set-SendConnector -Enabled:") == ["$true", "$false"]
    assert complete(VOCABULARY, "Set-SendConnector -Enabled:$t")[0].start_position == -2
    # Inside quotes $true would be a string: not offered.
    assert offered('Set-SendConnector -Enabled "') == []


def test_a_switch_takes_no_value_so_the_next_word_is_positional() -> None:
    assert offered("Remove-SendConnector -Confirm ") == ['"To Partner"', "Internet"]
    assert offered("Set-SendConnector -Enabled $true ") == ['"To Partner"', "Internet"]


def test_identity_completes_names_of_the_cmdlets_kind_quoting_names_with_spaces() -> None:
    assert offered("Set-SendConnector ") == ['"To Partner"', "Internet"]
    assert offered("Set-SendConnector -Identity ") == ['"To Partner"', "Internet"]
    assert offered("Set-SendConnector -Identity to") == ['"To Partner"']
    assert offered("Get-AcceptedDomain ") == ["adatum.com"]
    assert offered("Get-Queue ") == ["ADATUM-MBX1\\treyresearch.net"]
    assert offered("Get-TransportService ") == ["ADATUM-CAS1", "ADATUM-MBX1"]
    assert offered("Get-Mailbox e") == ["ed@adatum.com"]
    assert offered("Set-TransportConfig ") == []  # an organization object with no name


def test_a_quote_the_user_opened_is_kept_and_closed() -> None:
    result = complete(VOCABULARY, 'Set-SendConnector "To')
    assert [(c.text, c.start_position, c.display) for c in result] == [
        ('"To Partner"', -3, "To Partner")
    ]
    assert offered("Set-SendConnector 'to p") == ["'To Partner'"]


def test_server_qualified_identities_also_match_on_the_name_after_the_server() -> None:
    assert offered("Set-ReceiveConnector def") == [
        '"ADATUM-CAS1\\Default Frontend ADATUM-CAS1"',
        '"ADATUM-MBX1\\Default ADATUM-MBX1"',
    ]
    assert offered("Retry-Queue trey") == ["ADATUM-MBX1\\treyresearch.net"]
    assert offered("Set-ReceiveConnector adatum-m") == ['"ADATUM-MBX1\\Default ADATUM-MBX1"']


def test_other_parameters_complete_the_objects_they_name() -> None:
    assert offered("Get-ReceiveConnector -Server ") == ["ADATUM-CAS1", "ADATUM-MBX1"]
    assert offered("Enable-ExchangeCertificate ") == ["D8F4BE81"]
    assert complete(VOCABULARY, "Enable-ExchangeCertificate -Thumbprint d")[0].meta == (
        "ADATUM-CAS1: CN=mail"
    )
    assert offered("New-SendConnector x -SourceTransportServers ADATUM-CAS1,adatum-m") == [
        "ADATUM-MBX1"
    ]
    assert offered("Get-Message -Queue ") == ["ADATUM-MBX1\\treyresearch.net"]


def test_mail_completes_senders_of_this_organization_and_recipients_of_the_lab() -> None:
    assert offered("Send-MailMessage -From ") == ["april@adatum.com", "ed@adatum.com"]
    assert offered("Send-MailMessage -From a -To ") == [
        "april@adatum.com",
        "ed@adatum.com",
        "ben@treyresearch.net",
    ]
    assert offered("Send-MailMessage -To ed@adatum.com,b") == ["ben@treyresearch.net"]
    # Positional: -To is the first slot.
    assert offered("Send-MailMessage b") == ["ben@treyresearch.net"]


def test_lab_actions_see_every_organization() -> None:
    assert offered("Stop-LabServer trey") == ["TREY-CAS1", "TREY-MBX1"]
    assert offered("New-LabCertificate -Server T") == ["TREY-CAS1", "TREY-MBX1"]
    assert offered("Revoke-LabCertificate ") == ["D8F4BE81", "4D47B414"]
    assert offered("New-LabCertificate -Issuer ") == [
        "own",
        "public",
        "self",
        "Adatum",
        "TreyResearch",
    ]
    assert offered("Set-LabCrl ") == ["Public", "Adatum", "TreyResearch"]


def test_identities_are_quoted_when_the_shell_would_read_them_otherwise() -> None:
    odd = Vocabulary(
        catalog_words(),
        (
            Identities(
                IdentityKind.SEND_CONNECTOR,
                (
                    Identity('Say "hi"'),
                    Identity("a,b"),
                    Identity("$cost"),
                    Identity("-dash"),
                    Identity("it's"),
                ),
            ),
        ),
    )
    assert offered("Get-SendConnector ", odd) == [
        '"Say ""hi"""',
        '"a,b"',
        '"`$cost"',
        '"-dash"',
        '"it\'s"',
    ]
    assert offered("Get-SendConnector 'it", odd) == ["'it''s'"]


# -- where nothing is offered --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Get-Nothing -",  # unknown cmdlet
        "Set-SendConnector -Bogus ",  # the value of an unknown parameter
        "Set-SendConnector -Dom ",  # ambiguous: -DomainSecureEnabled or -DomainController
        "Set-SendConnector -Comment ",  # free text
        "Get-SendConnector # a comment",
        "Set-TransportConfig -TLSSendDomainSecureList @{Add=",  # inside a hashtable
        "Set-SendConnector To Partner -Name x y ",  # no positional slot left
        '"Get-Sen',  # a quoted command name
    ],
)
def test_nothing_is_offered_where_completion_cannot_tell(text: str) -> None:
    assert offered(text) == []


def test_a_closed_group_or_comment_does_not_stop_completion_after_it() -> None:
    assert offered("Set-TransportConfig -TLSSendDomainSecureList @{Add='x'} -TLSRec") == [
        "-TLSReceiveDomainSecureList"
    ]
    assert offered("Get-SendConnector # list them\nget-sen") == ["Get-SendConnector"]
    assert offered("Set-SendConnector `\n-Dom") == ["-DomainSecureEnabled", "-DomainController"]


# -- lab commands --------------------------------------------------------------------------------


def test_colon_commands_and_their_arguments_complete() -> None:
    assert offered(":") == [c.name for c in LAB_COMMANDS]
    assert complete(VOCABULARY, "  :o") == [
        Completion(":org", -2, ":org", LAB_COMMANDS[0].synopsis)
    ]
    assert offered(":org t") == ["TreyResearch"]
    assert offered(":server ") == ["-", "ADATUM-CAS1", "ADATUM-MBX1"]
    assert offered(":inbox b") == ["ben@treyresearch.net"]
    assert offered(":headers ed") == ["ed@adatum.com"]
    assert offered(":log TREY-C") == ["TREY-CAS1"]
    assert offered(":log TREY-CAS1 ") == ["receive", "send", "tracking", "event"]
    assert offered(":advance ") == []
    assert offered(":nope ") == []


# -- the vocabulary is derived, not listed -------------------------------------------------------


def test_every_cmdlet_and_parameter_of_the_catalog_is_in_the_vocabulary() -> None:
    for spec in default_catalog().specs():
        words = VOCABULARY.cmdlet(spec.name)
        assert words is not None
        assert [p.name for p in words.parameters] == [p.name for p in parameters_of(spec)]
        assert words.aliases == spec.aliases
        for p, w in zip(parameters_of(spec), words.parameters, strict=True):
            assert (w.switch, w.position, w.aliases) == (p.switch, p.position, p.aliases)


def test_every_enum_parameter_of_the_catalog_offers_exactly_the_values_it_accepts() -> None:
    # The catalog's own error text is the oracle: a parameter that answers a wrong value with
    # "Specify one of the following enumerator names" must offer just those names.
    checked = 0
    for spec in default_catalog().specs():
        words = VOCABULARY.cmdlet(spec.name)
        assert words is not None
        for p, w in zip(parameters_of(spec), words.parameters, strict=True):
            try:
                p.type.convert("no-such-value")
            except ConversionError as err:
                marker = "Specify one of the following enumerator names and try again: "
                if marker in str(err):
                    names = str(err).split(marker, 1)[1].rstrip('"').split(", ")
                    assert list(w.choices.values) == names, (spec.name, p.name)
                    checked += 1
                    continue
            if p.type.type_name == "System.Boolean":
                assert w.choices.values == ("$true", "$false"), (spec.name, p.name)
    assert checked >= 10


def test_short_type_names_for_the_menu() -> None:
    assert short_type_name("System.Boolean") == "Boolean"
    assert short_type_name("Microsoft.Exchange.Data.TlsAuthLevel") == "TlsAuthLevel"
    assert (
        short_type_name(
            "Microsoft.Exchange.Data.MultiValuedProperty`1[Microsoft.Exchange.Data.SmtpDomain]"
        )
        == "SmtpDomain[]"
    )
    assert (
        short_type_name(
            "Microsoft.Exchange.Management.SystemConfigurationTasks.NewSendConnector+UsageType"
        )
        == "UsageType"
    )


# -- a real lab ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The default lab with a Partner send connector and a message queued for TreyResearch."""
    started = Lab.start(default_lab(), cert_folder=tmp_path_factory.mktemp("certs"))
    try:
        result = started.run_shell(
            "Adatum",
            'New-SendConnector "To Partner" -Partner -AddressSpaces treyresearch.net\n'
            "Stop-LabServer TREY-CAS1\n"
            "Send-MailMessage -From april@adatum.com -To ben@treyresearch.net -Subject Hi\n",
        )
        assert result.error is None, result.error
        yield started
    finally:
        started.stop()


def names(vocabulary: Vocabulary, kind: IdentityKind) -> list[str]:
    return [i.name for i in vocabulary.identities_of(kind)]


def test_vocabulary_for_a_running_lab_names_its_current_objects(lab: Lab) -> None:
    vocabulary = vocabulary_for(lab, "adatum")
    adatum = lab.organization("Adatum")
    assert vocabulary.organization == "Adatum"
    assert names(vocabulary, IdentityKind.ORGANIZATION) == list(lab.organization_names())
    assert names(vocabulary, IdentityKind.SEND_CONNECTOR) == ["To Partner"]
    assert names(vocabulary, IdentityKind.RECEIVE_CONNECTOR) == [
        c.identity for c in adatum.receive_connectors
    ]
    assert names(vocabulary, IdentityKind.SERVER) == [s.name for s in adatum.servers]
    assert names(vocabulary, IdentityKind.LAB_SERVER) == [
        s.name for o in lab.organization_names() for s in lab.organization(o).servers
    ]
    assert names(vocabulary, IdentityKind.MAILBOX) == [
        m.primary_smtp_address for m in adatum.mailboxes
    ]
    assert "ben@treyresearch.net" in names(vocabulary, IdentityKind.LAB_MAILBOX)
    assert names(vocabulary, IdentityKind.ACCEPTED_DOMAIN) == ["adatum.com"]
    assert names(vocabulary, IdentityKind.QUEUE) == [q.identity for q in lab.queues("Adatum")]
    # Exchange 2013 names a delivery queue SERVER\<number> and always lists Submission (C7).
    assert names(vocabulary, IdentityKind.QUEUE) == ["ADATUM-MBX1\\1", "ADATUM-MBX1\\Submission"]
    thumbprints = {
        c.thumbprint for s in adatum.servers for c in lab.certificate_store(s.name).personal()
    }
    assert set(names(vocabulary, IdentityKind.CERTIFICATE)) == thumbprints
    assert set(names(vocabulary, IdentityKind.LAB_CERTIFICATE)) > thumbprints
    # And completion uses them.
    assert offered('Set-SendConnector "To', vocabulary) == ['"To Partner"']
    assert offered("Retry-Queue ", vocabulary) == ["ADATUM-MBX1\\1", "ADATUM-MBX1\\Submission"]
    # The message cmdlets complete Get-Message's identities.
    messages = [m.identity for m in lab.messages("Adatum")]
    assert messages and names(vocabulary, IdentityKind.MESSAGE) == messages
    assert offered("Remove-Message ", vocabulary) == messages
    assert offered("Suspend-Message -Identity ", vocabulary) == messages


def test_vocabulary_follows_the_configuration_after_a_line(lab: Lab) -> None:
    result = lab.run_shell(
        "TreyResearch", 'New-SendConnector "Back to Adatum" -AddressSpaces adatum.com'
    )
    assert result.error is None, result.error
    try:
        trey = vocabulary_for(lab, "TreyResearch")
        assert names(trey, IdentityKind.SEND_CONNECTOR) == ["Back to Adatum"]
        assert offered("Remove-SendConnector b", trey) == ['"Back to Adatum"']
        # Adatum's shell does not see TreyResearch's connectors.
        assert names(vocabulary_for(lab, "Adatum"), IdentityKind.SEND_CONNECTOR) == ["To Partner"]
    finally:
        lab.run_shell("TreyResearch", 'Remove-SendConnector "Back to Adatum"')


def test_json_round_trip(lab: Lab) -> None:
    vocabulary = vocabulary_for(lab, "Adatum")
    data = json.loads(json.dumps(vocabulary.to_json()))
    again = Vocabulary.from_json(data)
    assert again == vocabulary
    assert offered("Set-SendConnector -TlsAuthLevel d", again) == ["DomainValidation"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(format=99), "vocabulary.format: expected 1"),
        (lambda d: d.pop("cmdlets"), "vocabulary: missing 'cmdlets'"),
        (
            lambda d: d["cmdlets"][0]["parameters"][0].update(switch="no"),
            "vocabulary.cmdlets[0].parameters[0].switch",
        ),
        (lambda d: d["identities"].update(Gadget=[]), "unknown identity kind 'Gadget'"),
        (
            lambda d: d["lab_commands"][0]["arguments"][0].update(identity=3),
            "vocabulary.lab_commands[0].arguments[0].identity: expected a string",
        ),
    ],
)
def test_malformed_json_is_refused_naming_the_place(change: object, message: str) -> None:
    data = json.loads(json.dumps(VOCABULARY.to_json()))
    assert callable(change)
    change(data)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Vocabulary.from_json(data)


# -- never raises --------------------------------------------------------------------------------

SHELL_PIECES = st.sampled_from(
    [
        "Get-SendConnector",
        "set-sendconnector",
        "Set-ReceiveConnector",
        "Send-MailMessage",
        "New-LabCertificate",
        "fl",
        ":org",
        ":log",
        "-",
        "\u2013",
        "-Identity",
        "-Enabled:",
        "-Services",
        "-TlsAuthLevel",
        "-Dom",
        "$true",
        "'",
        '"',
        "`",
        "``",
        "''",
        '""',
        ",",
        "|",
        ";",
        "\n",
        "\r\n",
        "#",
        "(",
        ")",
        "{",
        "}",
        "@{",
        "@(",
        "$(",
        "=",
        ":",
        "\\",
        " ",
        "\t",
        "\u00a0",
        "To Partner",
        "ADATUM-CAS1\\",
        "*",
        "?",
        "[",
        "\x00",
    ]
)


def check(text: str) -> None:
    for completion in complete(VOCABULARY, text):
        assert isinstance(completion, Completion)
        assert -len(text) <= completion.start_position <= 0
        assert completion.text


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    check(text)


@settings(max_examples=500, deadline=None, database=None)
@given(st.lists(SHELL_PIECES, max_size=12).map("".join))
def test_shell_like_text_never_raises(text: str) -> None:
    check(text)


# -- purity --------------------------------------------------------------------------------------


def test_completion_loads_neither_twisted_nor_prompt_toolkit() -> None:
    probe = (
        "import sys, labsim.completion\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'twisted', 'prompt_toolkit', 'OpenSSL'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=Path.cwd()
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("$c = Get-Sen", "Get-SendConnector"),  # after an assignment, a new statement
        ("(Get-TransportCo", "Get-TransportConfig"),  # a parenthesised pipeline
        ("Get-SendConnector (Get-SendC", "Get-SendConnector"),  # a group as an argument
        ("$c = Get-SendConnector -Ide", "-Identity"),
    ],
)
def test_statements_after_an_assignment_or_inside_parentheses(text: str, first: str) -> None:
    """The shell takes variables and parenthesised pipelines; completion follows them."""
    assert offered(text)[:1] == [first]


# -- inside script blocks ------------------------------------------------------------------------


def test_current_object_members_complete_to_the_piped_objects_properties() -> None:
    assert offered("Get-ReceiveConnector | ? {$_.Na") == ["Name"]
    assert offered("Get-Queue | Where-Object {$_.Status -eq 'Retry' -and $_.la") == [
        "LastError",
        "LastRetryTime",
    ]
    # Where-Object and Sort-Object pass their input on; a (…) pipeline and @{e={…}} work too.
    assert offered("Get-ReceiveConnector | ? {$_.Enabled} | sort Name | ? {$PSItem.Perm") == [
        "PermissionGroups"
    ]
    assert offered('(Get-SendConnector | select Name,@{n="A";e={$_.AddressSp') == ["AddressSpaces"]
    assert offered("Get-MessageTrackingLog -Server ADATUM-MBX1 | ? {$_.EventI") == ["EventId"]
    # The whole word after the dot is replaced.
    (completion,) = complete(VOCABULARY, "Get-ReceiveConnector | ? {$_.bind")
    assert (completion.text, completion.start_position) == ("Bindings", -4)


def test_a_dash_in_a_script_block_completes_the_filter_operators() -> None:
    assert offered("Get-ReceiveConnector | ? {$_.Name -e") == ["-eq"]
    assert offered("Get-ReceiveConnector | ? {$_.Name -like 'D*' -a") == ["-and"]
    assert offered("Get-ReceiveConnector | ? {$_.Name -not") == [
        "-notcontains",
        "-notin",
        "-notlike",
        "-notmatch",
        "-not",
    ]
    assert "-cne" in offered("Get-ReceiveConnector | ? {$_.Name -c")


def test_nothing_is_offered_where_the_piped_type_is_unknown() -> None:
    assert offered("? {$_.Na") == []  # nothing piped in
    assert offered("$x | ? {$_.Na") == []  # a variable's type is not known to completion
    assert offered('Get-ReceiveConnector | ? {"$_.Na') == []  # inside a string


def test_service_cmdlets_offer_the_exchange_service_names() -> None:
    assert offered("Stop-Service MSExchangeTr") == [
        "MSExchangeTransport",
        "MSExchangeTransportLogSearch",
    ]
    assert "MSExchangeFrontEndTransport" in offered("Get-Service -Name MSExchangeF")
