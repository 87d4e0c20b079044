"""Scopes and keys."""

from __future__ import annotations

import pytest

from domain.auth import Principal, Scope, display_prefix, hash_key, new_key, parse_scope
from domain.errors import Forbidden, InvalidInput


def test_scopes_are_ordered():
    assert Scope.ADMIN.allows(Scope.WRITE) and Scope.WRITE.allows(Scope.READ)
    assert not Scope.READ.allows(Scope.WRITE)


def test_a_principal_without_the_scope_is_forbidden():
    with pytest.raises(Forbidden, match="needs 'admin'"):
        Principal(1, "k", Scope.WRITE).require(Scope.ADMIN, "creating keys")


def test_keys_are_random_and_only_their_hash_is_kept():
    a, b = new_key(), new_key()
    assert a != b and a.startswith("sgm_") and len(a) > 40
    assert hash_key(a) != a and len(hash_key(a)) == 64
    assert a.startswith(display_prefix(a))


def test_unknown_scope_is_bad_input():
    assert parse_scope(" Admin ") is Scope.ADMIN
    with pytest.raises(InvalidInput):
        parse_scope("root")
