"""Which requests the console serves (labsim.web.security), as plain data: no lab, no browser."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labsim.web.security import (
    CSRF_HEADER,
    HttpRequest,
    check_request,
    cookie_name,
    csrf_token,
    new_secret,
)

SECRET = "s3cret-of-this-run"
PORT = 8123
HOST = f"127.0.0.1:{PORT}"


def ask(**fields: object) -> int:
    request = HttpRequest(**{"method": "GET", "path": "/", "host": HOST, **fields})  # type: ignore[arg-type]
    return check_request(request, SECRET, PORT).status


def with_cookie(**fields: object) -> int:
    return ask(cookies={cookie_name(PORT): SECRET}, **fields)


def test_the_secret_in_the_url_becomes_a_cookie_and_leaves_the_address_bar() -> None:
    decision = check_request(
        HttpRequest("GET", "/logs", HOST, query={"k": SECRET, "server": "TREY-CAS1"}), SECRET, PORT
    )
    assert (decision.status, decision.set_cookie) == (303, True)
    assert decision.location == "/logs?server=TREY-CAS1"


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"query": {"k": "guess"}},
        {"cookies": {cookie_name(PORT): "guess"}},
        {"cookies": {cookie_name(PORT + 1): SECRET}},  # another lab's console
        {"method": "POST", "path": "/shell", "form": {"csrf": csrf_token(SECRET)}},
    ],
)
def test_without_the_right_secret_every_page_and_action_is_403(fields: dict[str, object]) -> None:
    assert ask(**fields) == 403


def test_a_post_needs_the_csrf_token_as_well_as_the_cookie() -> None:
    assert with_cookie(method="POST", path="/shell") == 403
    assert with_cookie(method="POST", path="/shell", form={"csrf": "0" * 64}) == 403
    assert with_cookie(method="POST", path="/shell", form={"csrf": csrf_token(SECRET)}) == 200
    header = {CSRF_HEADER: csrf_token(SECRET)}
    assert with_cookie(method="POST", path="/shell", headers=header) == 200


def test_a_post_from_another_origin_is_refused_even_with_the_token() -> None:
    token = {"csrf": csrf_token(SECRET)}
    evil = {"origin": "http://evil.example"}
    assert with_cookie(method="POST", path="/shell", form=token, headers=evil) == 403
    null = {"origin": "null"}
    assert with_cookie(method="POST", path="/shell", form=token, headers=null) == 403
    own = {"origin": f"http://127.0.0.1:{PORT}"}
    assert with_cookie(method="POST", path="/shell", form=token, headers=own) == 200


def test_another_host_name_is_refused_dns_rebinding() -> None:
    assert with_cookie(host=f"attacker.example:{PORT}") == 421
    assert with_cookie(host=f"localhost:{PORT}") == 200


def test_an_oversize_body_is_413_and_static_files_need_no_secret() -> None:
    assert with_cookie(method="POST", path="/shell", body_too_large=True) == 413
    assert ask(path="/static/console.js") == 200


def test_tokens_differ_per_run_and_the_csrf_token_is_not_the_secret() -> None:
    first, second = new_secret(), new_secret()
    assert first != second and len(first) >= 32
    assert csrf_token(first) != csrf_token(second) and csrf_token(first) != first


def test_the_pure_modules_do_not_import_twisted() -> None:
    code = (
        "import sys, labsim.web.security, labsim.web.views, labsim.web.pages; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'twisted'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
