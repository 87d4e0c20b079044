"""Look-ahead: whether a field's selection reaches a given path, before resolving it.

A resolver that loads a page can fetch what the page's children will ask for in one query
instead of one batch per level (e.g. the companies of a contacts page). Fragments are
followed; an answer is cached per field node, as the parser cache hands out the same
document for the same text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode
from graphql.language import SelectionSetNode

from api.context import AppInfo

_cache: dict[tuple[int, tuple[str, ...]], tuple[object, object]] = {}
CACHE_SIZE = 4096


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterable[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in seen:
                yield from _fields(fragment.selection_set, fragments, seen | {name})


def _reaches(
    nodes: Iterable[FieldNode],
    path: tuple[str, ...],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> bool:
    if not path:
        return True
    head, rest = path[0], path[1:]
    for node in nodes:
        children = [f for f in _fields(node.selection_set, fragments) if f.name.value == head]
        if children and _reaches(children, rest, fragments):
            return True
    return False


def selects(info: AppInfo, *paths: tuple[str, ...]) -> bool:
    """Whether the current field's selection contains any of `paths` (GraphQL names)."""
    raw = info._raw_info
    nodes = raw.field_nodes
    for path in paths:
        key = (id(nodes[0]), path)
        hit = _cache.get(key)
        if hit is None or hit[0] is not nodes[0]:
            if len(_cache) >= CACHE_SIZE:
                _cache.clear()
            hit = _cache[key] = (nodes[0], _reaches(nodes, path, raw.fragments))
        if hit[1] is True:
            return True
    return False


def selected_names(info: AppInfo, *paths: tuple[str, ...]) -> frozenset[str] | None:
    """The field names selected at the end of `paths` under the current field (None when
    a fragment's type condition or a directive makes the answer depend on more)."""
    raw = info._raw_info
    nodes = raw.field_nodes
    key = (id(nodes[0]), ("names", *(p for path in paths for p in (*path, "|"))))
    hit = _cache.get(key)
    if hit is None or hit[0] is not nodes[0]:
        if len(_cache) >= CACHE_SIZE:
            _cache.clear()
        hit = _cache[key] = (nodes[0], _names(nodes, paths, raw.fragments))
    return hit[1]  # type: ignore[return-value]


def _names(
    nodes: Sequence[FieldNode],
    paths: tuple[tuple[str, ...], ...],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> frozenset[str] | None:
    found: set[str] = set()
    for path in paths:
        level: list[FieldNode] = list(nodes)
        for name in path:
            level = [f for node in level for f in _fields(node.selection_set, fragments)
                     if f.name.value == name]  # fmt: skip
        for node in level:
            if _has_conditions(node.selection_set, fragments):
                return None
            found.update(f.name.value for f in _fields(node.selection_set, fragments))
    return frozenset(found)


def _has_conditions(
    selection_set: SelectionSetNode | None,
    fragments: Mapping[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> bool:
    """Directives or type conditions other than the obvious: leave those to the full read."""
    for selection in selection_set.selections if selection_set else ():
        if selection.directives:
            return True
        if isinstance(selection, InlineFragmentNode):
            if _has_conditions(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or fragment.directives:
                return True
            if name not in seen and _has_conditions(
                fragment.selection_set, fragments, seen | {name}
            ):
                return True
    return False
