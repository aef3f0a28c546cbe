"""Action bookkeeping: repetitions and backoff, checks, and what custom functions return.

Counting follows ensemble-python: every time a rule's trigger occurs (and its ``when``
holds) the action is *asked* to run. Without ``backoff`` it runs while repetitions remain.
With ``backoff: b`` it runs, then skips the next ``b`` occurrences, then runs again, until
``repetitions`` runs have happened.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from insitu.rules.model import (
    ACTIONS,
    GROUP_ACTIONS,
    RESIZE_ACTIONS,
    Action,
    CustomFunction,
    parse_choice,
)


class ActionBudget:
    """How often one rule's action may still run (mutable engine state)."""

    def __init__(self, action: Action) -> None:
        self.remaining = action.repetitions
        self.backoff = action.backoff
        self._skip = 0

    @property
    def finished(self) -> bool:
        """True once no repetition is left."""
        return self.remaining <= 0

    def perform(self) -> bool:
        """Register one trigger occurrence; True if the action runs this time."""
        if self.finished:
            return False
        if self.backoff is not None and self.backoff >= 0:
            if self._skip > 0:
                self._skip -= 1
                return False
            self._skip = self.backoff
        self.remaining -= 1
        return True


def action_problem(
    action: Action,
    groups: Iterable[str],
    custom: Mapping[str, CustomFunction],
) -> tuple[str, str] | None:
    """Why ``action`` cannot run in an ensemble of ``groups``: (field, reason), or None.

    Its name is known (an :class:`Action` refuses any other); this checks what it names.
    """
    known = set(groups)
    if action.name in GROUP_ACTIONS and action.label not in known:
        return "label", (
            f"action {action.name} needs a label naming a job group, got {action.label!r}; "
            f"known groups: {', '.join(sorted(known)) or '(none)'}"
        )
    if action.name in RESIZE_ACTIONS and action.label is not None and action.label not in known:
        return "label", f"action {action.name}: unknown job group {action.label!r}"
    if action.name == "custom" and action.label not in custom:
        defined = ", ".join(sorted(custom)) or "(none)"
        return "label", (
            f"custom function {action.label!r} is not defined in 'custom' (defined: {defined})"
        )
    if action.name in {"resubmit", *RESIZE_ACTIONS}:
        try:
            amount = action.amount()
        except ValueError as err:
            return "value", str(err)
        if amount < 1:
            return "value", f"action {action.name}: value must be at least 1, got {action.value!r}"
    return None


def make_action(spec: Mapping[str, object] | None = None, **fields: object) -> Action:
    """Build an :class:`Action` from a mapping and/or keywords.

    This is ``Action`` inside a rules file's ``custom`` code, so that ensemble-python's
    ``return Action({"name": "submit", "label": "echo"})`` works unchanged.
    """
    merged = {**(spec or {}), **fields}
    unknown = set(merged) - {"name", "label", "repetitions", "backoff", "value"}
    if unknown:
        raise ValueError(f"unknown action fields {sorted(unknown)}")
    if merged.get("name") is None:
        raise ValueError(f"an action needs a name (one of {', '.join(ACTIONS)})")
    name = parse_choice(merged["name"], ACTIONS, "action")
    label = merged.get("label")
    value = merged.get("value")
    if value is not None and not isinstance(value, int | float | str):
        raise ValueError(f"action value must be a number or string, got {value!r}")
    return Action(
        name=name,
        label=None if label is None else str(label),
        repetitions=_int(merged.get("repetitions", 1), "repetitions"),
        backoff=None if merged.get("backoff") is None else _int(merged["backoff"], "backoff"),
        value=value,
    )


def _int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ValueError(f"action {what} must be a whole number, got {value!r}")
    return int(value)


def returned_actions(result: object) -> list[Action]:
    """What a custom function returned, as actions: None, an Action, a mapping, or a list."""
    if result is None:
        return []
    if isinstance(result, Action):
        return [result]
    if isinstance(result, Mapping):
        return [make_action(result)]
    if isinstance(result, list | tuple):
        out: list[Action] = []
        for item in result:
            out.extend(returned_actions(item))
        return out
    raise ValueError(
        f"a custom action must return None, an Action, or a list of them; got {result!r}"
    )
