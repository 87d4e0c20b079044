"""Field permissions: the scope a field needs, declared on the field.

`OperationGuard` (api/errors.py) already refuses a whole operation without a key, or a
mutation without `write` scope; these declare what a field needs beyond that, e.g.
`permission_classes=[IsAdmin.doing("creating webhooks")]`.

A refusal raises the domain error `Context.require` raises, so the client sees the same
`UNAUTHENTICATED` or `FORBIDDEN` error (code, message, path) as when resolvers checked
scopes themselves: "this API key has scope 'write'; creating webhooks needs 'admin'".
Strawberry's own refusal (`message`, `error_extensions`, `on_unauthorized`) cannot name the
key's scope, since it does not see the request.
"""

from __future__ import annotations

import functools
from typing import ClassVar, cast

from strawberry.permission import BasePermission

from api.context import AppInfo
from domain.auth import Scope


class ScopePermission(BasePermission):
    scope: ClassVar[Scope]
    action: ClassVar[str]

    def has_permission(self, source: object, info: AppInfo, **kwargs: object) -> bool:
        info.context.require(self.scope, self.action)
        return True

    @classmethod
    def doing(cls, action: str) -> type[ScopePermission]:
        """This permission, for `action` (named in the FORBIDDEN message)."""
        return _subclass(cls, action)


class IsReader(ScopePermission):
    scope = Scope.READ
    action = "reading"


class IsWriter(ScopePermission):
    scope = Scope.WRITE
    action = "running mutations"


class IsAdmin(ScopePermission):
    scope = Scope.ADMIN
    action = "this field"


@functools.cache
def _subclass(base: type[ScopePermission], action: str) -> type[ScopePermission]:
    return cast("type[ScopePermission]", type(base.__name__, (base,), {"action": action}))
