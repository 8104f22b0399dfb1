"""Sweep tasks by name: what a spec's ``task`` may run (``register_task``, ``resolve_task``;
``neurosim.sweep``'s docstring says why specs name tasks instead of importing code)."""
from __future__ import annotations

import importlib
import re

__all__ = ["register_task", "registered_tasks", "resolve_task", "TASK_NAME", "MODULE_PATH"]

_TASKS: dict = {}  # name -> callable, or "module:function" imported when first used

#: What a registered sweep task name may look like.
TASK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
#: What a ``module:function`` sweep task path may look like (run only with ``allow_module_tasks``).
MODULE_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*")


def register_task(name: str, task) -> None:
    """Make ``task`` available to specs as ``name`` (letters, digits, ``_ . -``). ``task``:
    a callable ``fn(params: dict) -> dict``, or ``"module:function"`` imported when first
    used (how packages register theirs without importing them). Registering a name again
    replaces it. Raises ``ValueError`` for a bad name or task."""
    if not isinstance(name, str) or not TASK_NAME.fullmatch(name):
        raise ValueError(f"task name {name!r} is invalid: use 1 to 100 letters, digits, '_', '.' or '-'")
    if not (callable(task) or (isinstance(task, str) and MODULE_PATH.fullmatch(task))):
        raise ValueError(f"task {task!r} for {name!r} must be a callable or 'module:function'")
    _TASKS[name] = task


def registered_tasks() -> list[str]:
    """The names ``register_task`` knows, sorted."""
    return sorted(_TASKS)


def _import(path: str):
    module, _, func = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), func)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"task {path!r} not found: {exc}") from None
    if not callable(fn):
        raise ValueError(f"task {path!r} is not callable")
    return fn


def resolve_task(name: str, allow_module_tasks: bool = False):
    """The function of task ``name``: a registered name, or (only with
    ``allow_module_tasks``) a ``"module:function"`` path, which is imported. Raises
    ``ValueError`` saying which names are known and how to opt in."""
    if name in _TASKS:
        task = _TASKS[name]
        if isinstance(task, str):
            task = _TASKS[name] = _import(task)
        return task
    if isinstance(name, str) and MODULE_PATH.fullmatch(name):
        if not allow_module_tasks:
            raise ValueError(f"task {name!r} is a module path, which a spec may only name when you opt in "
                             f"(allow_module_tasks=True, neurosim sweep --allow-module-task): it imports and runs the code "
                             f"the spec names. Registered tasks: {registered_tasks() or 'none'} "
                             "(neurosim.sweep.register_task adds yours)")
        return _import(name)
    raise ValueError(f"unknown task {name!r}; registered tasks: {registered_tasks() or 'none'} "
                     "(neurosim.sweep.register_task adds yours)")
