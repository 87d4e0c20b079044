"""Strawberry's field decorators, typed for resolver methods.

Used as `@strawberry.field(description=...)`, Strawberry's stubs return `Any` (that overload
also types `x: int = strawberry.field(...)`), which `mypy --strict` rejects as an untyped
decorator. These are the same decorators, typed as keeping the method's signature: that is
what the type checker needs to check the method's body and its callers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

import strawberry
from strawberry.permission import BasePermission

F = TypeVar("F", bound=Callable[..., object])


def field(
    *,
    description: str | None = None,
    permission_classes: list[type[BasePermission]] | None = None,
    graphql_type: object | None = None,
) -> Callable[[F], F]:
    """`graphql_type` names the field's type where the resolver's annotation cannot (one
    that may return an awaitable)."""
    return cast(
        "Callable[[F], F]",
        strawberry.field(
            description=description, permission_classes=permission_classes,
            graphql_type=graphql_type,
        ),
    )  # fmt: skip


def subscription(
    *,
    description: str | None = None,
    permission_classes: list[type[BasePermission]] | None = None,
) -> Callable[[F], F]:
    return cast(
        "Callable[[F], F]",
        strawberry.subscription(description=description, permission_classes=permission_classes),
    )
