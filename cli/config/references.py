"""Cycles of model references too long for the generated models.py to import.

Models may refer to one another in cycles (`Node.children: Node[]`). pydantic builds the first
class of a cycle by walking every class of the cycle (each model and each nested object class)
one inside the other, so a cycle through many classes exhausts Python's stack when models.py is
imported. Acyclic chains of any length are fine: models.py defines every class after the
classes it uses. Real files have cycles of one or two models.
"""

from __future__ import annotations

from collections.abc import Iterator

from cli.config.issues import ConfigIssue
from cli.config.model import Model, ModelField, ParsedConfig

MAX_CYCLE_CLASSES = 40


def reference_cycle_issues(parsed: ParsedConfig, file_order: list[str]) -> list[ConfigIssue]:
    """An error for every cycle of references that passes through too many classes, at the
    cycle's model written first in the file (`file_order`: the models as written)."""
    graph = {name: _references(model) for name, model in parsed.models.items()}
    order = {name: i for i, name in enumerate(file_order)}
    issues: list[ConfigIssue] = []
    for found in _strongly_connected(graph):
        component = sorted(found, key=lambda name: order.get(name, len(order)))
        first = component[0]
        if len(component) == 1 and first not in graph[first]:
            continue
        classes = sum(1 + _nested_depth(parsed.models[name]) for name in component)
        if classes <= MAX_CYCLE_CLASSES:
            continue
        names = ", ".join(f'"{n}"' for n in component[:5]) + (", ..." if len(component) > 5 else "")
        issues.append(
            ConfigIssue(
                "model_cycle_too_long",
                f"Models {names} refer to one another in a cycle through {classes} classes "
                f"(models and nested objects); models.py can import cycles through at most "
                f"{MAX_CYCLE_CLASSES}",
                ("models", first),
                hint="Break the cycle: refer to one of these models by its id instead.",
            )
        )
    return issues


def _walk(fields: list[ModelField]) -> Iterator[tuple[ModelField, int]]:
    """Every field and member, with the number of nested object classes around it."""
    pending = [(item, 0) for item in reversed(fields)]
    while pending:
        item, depth = pending.pop()
        yield item, depth
        if isinstance(item.value, list):
            inner = depth + (0 if item.union or item.array else 1)
            pending.extend((member, inner) for member in reversed(item.value))


def _references(model: Model) -> list[str]:
    found: dict[str, None] = {}
    for item, _ in _walk(model.fields):
        if item.model and isinstance(item.value, str):
            found[item.value] = None
    return list(found)


def _nested_depth(model: Model) -> int:
    return max((depth for _, depth in _walk(model.fields)), default=0)


def _strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, with an explicit stack instead of recursion."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            target = next((t for t in edges if t in graph), None)
            if target is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    components.append(_pop_component(node, stack, on_stack))
            elif target not in index:
                index[target] = low[target] = len(index)
                stack.append(target)
                on_stack.add(target)
                work.append((target, iter(graph[target])))
            elif target in on_stack:
                low[node] = min(low[node], index[target])
    return components


def _pop_component(node: str, stack: list[str], on_stack: set[str]) -> list[str]:
    component: list[str] = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == node:
            return component
