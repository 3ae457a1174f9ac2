"""X-EXPS proofs (labsim's stand-in for Kerberos between servers of one organization)."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from labsim.policy import exchange_auth as xa

SECRET = b"s" * 32
OTHER_ORG = b"t" * 32
CHALLENGE = b"c" * 16
BINDING = b"b" * 32
SERVERS = frozenset({"ADATUM-CAS1", "ADATUM-MBX1"})


def _answer(
    secret: bytes = SECRET,
    challenge: bytes = CHALLENGE,
    binding: bytes = BINDING,
    name: str = "ADATUM-CAS1",
) -> str:
    line = xa.response_line(secret, xa.challenge_line(challenge), binding, name)
    assert line is not None
    return line


def test_a_server_of_the_organization_authenticates() -> None:
    verdict = xa.verify_response(SECRET, CHALLENGE, BINDING, _answer(), SERVERS)
    assert verdict == xa.Verdict("ADATUM-CAS1", xa.AUTHENTICATED)
    assert str(verdict.reply) == "235 2.7.0 Authentication successful"


def test_another_organizations_secret_a_replayed_answer_or_another_tls_session_fail() -> None:
    for answer, challenge, binding in (
        (_answer(secret=OTHER_ORG), CHALLENGE, BINDING),
        (_answer(), b"d" * 16, BINDING),  # replayed against a new challenge
        (_answer(), CHALLENGE, b"e" * 32),  # relayed onto another TLS session
    ):
        verdict = xa.verify_response(SECRET, challenge, binding, answer, SERVERS)
        assert verdict == xa.Verdict(None, xa.UNSUCCESSFUL)


def test_a_good_proof_for_a_name_outside_the_organization_fails() -> None:
    answer = _answer(name="TREY-CAS1")
    assert xa.verify_response(SECRET, CHALLENGE, BINDING, answer, SERVERS).server_name is None


def test_cancel_and_garbage() -> None:
    assert xa.verify_response(SECRET, CHALLENGE, BINDING, "*", SERVERS).reply == xa.CANCELLED
    assert xa.response_line(SECRET, "not base64!", BINDING, "X") is None


@given(st.binary(max_size=200))
def test_no_forged_response_authenticates(blob: bytes) -> None:
    forged = base64.b64encode(blob).decode()
    assert xa.verify_response(SECRET, CHALLENGE, BINDING, forged, SERVERS).server_name is None


def test_account_name_as_the_receive_log_shows_it() -> None:
    assert xa.account_name("adatum.com", "adatum-mbx1") == "ADATUM\\ADATUM-MBX1$"
