"""Identity memo of certificate functions (labsim.pki.memo): exact, never stale, no hashing."""

from __future__ import annotations

import gc

from labsim.pki.memo import IdentityMemo


class Unhashable:
    """Stands for a certificate: equal objects may be distinct; hashing it is refused here
    (a cryptography certificate hashes its whole DER on every call)."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unhashable) and other.value == self.value

    def __hash__(self) -> int:
        raise AssertionError("the memo hashed the object")


def test_same_object_is_computed_once_and_never_hashed() -> None:
    calls: list[int] = []
    memo = IdentityMemo(lambda obj: calls.append(obj.value) or obj.value * 2)
    first = Unhashable(3)
    assert memo(first) == 6
    assert memo(first) == 6
    assert calls == [3]


def test_an_equal_object_elsewhere_gets_its_own_answer() -> None:
    memo = IdentityMemo(lambda obj: id(obj))
    a, b = Unhashable(1), Unhashable(1)
    assert memo(a) == id(a)
    assert memo(b) == id(b)


def test_a_reused_id_never_returns_a_dead_objects_value() -> None:
    # The memo holds the object, so its id cannot be handed to a new object; a memo keyed by
    # id alone would answer for the new object with the dead one's value.
    memo = IdentityMemo(lambda obj: obj.value, limit=1)
    for value in range(200):
        obj = Unhashable(value)
        assert memo(obj) == value
        del obj
        gc.collect()


def test_the_limit_bounds_what_is_held() -> None:
    memo = IdentityMemo(lambda obj: obj.value, limit=3)
    objects = [Unhashable(n) for n in range(10)]
    for obj in objects:
        memo(obj)
    assert len(memo._entries) <= 3
    assert [memo(obj) for obj in objects] == list(range(10))
