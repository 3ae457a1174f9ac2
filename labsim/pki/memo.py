"""Memoizing functions of one immutable object (a certificate, a reply) by its identity.

Why not ``functools.lru_cache``: a ``cryptography`` certificate hashes by running SipHash over
its whole DER encoding on every call (the hash is not kept), so a cache keyed by certificate
pays that for every lookup, a few hundred times per message in a live lab. Certificates are
immutable and the lab hands out one object per certificate (stores hold their records, peer
certificates are parsed once per DER encoding), so the object's identity is as good a key and
costs nothing. The entry holds the object itself, so its ``id`` cannot be reused by another
object while the entry lives; an equal certificate in another object is a miss that computes
the same answer. The engine uses the same memo for other frozen records it meets again and again
by identity (the SMTP reply constants).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityMemo(Generic[K, V]):
    """``function(obj)`` remembered per object identity, at most ``limit`` objects at once."""

    def __init__(self, function: Callable[[K], V], limit: int = 4096) -> None:
        self._function = function
        self._limit = limit
        self._entries: dict[int, tuple[K, V]] = {}
        functools.update_wrapper(self, function)

    def __call__(self, obj: K) -> V:
        """The remembered value for ``obj``, computed on its first call."""
        entry = self._entries.get(id(obj))
        if entry is not None and entry[0] is obj:
            return entry[1]
        value = self._function(obj)
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[id(obj)] = (obj, value)
        return value

    def cache_clear(self) -> None:
        """Forget every remembered value."""
        self._entries.clear()


def memo_by_identity(limit: int = 4096) -> Callable[[Callable[[K], V]], IdentityMemo[K, V]]:
    """Decorator: memoize a function of one immutable object by the object's identity."""

    def wrap(function: Callable[[K], V]) -> IdentityMemo[K, V]:
        return IdentityMemo(function, limit)

    return wrap
