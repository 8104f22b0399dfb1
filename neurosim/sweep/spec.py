"""What a sweep runs: ``SweepSpec`` (task, base, grid, random samples, limits), read from
TOML or JSON and checked field by field, its points generated lazily, and ``point_key``."""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .tasks import MODULE_PATH, TASK_NAME

__all__ = ["SweepSpec", "point_key", "MAX_POINTS"]

MAX_POINTS = 100_000
"""Default most points a spec may give (``SweepSpec.max_points`` raises it)."""


def _check_values(where: str, values) -> list:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where}: expected a non-empty list of values, got {values!r}")
    for v in values:
        if not isinstance(v, (int, float, str, bool)) or (isinstance(v, float) and not math.isfinite(v)):
            raise ValueError(f"{where}: value {v!r} is not a finite number, string or boolean")
    return list(values)


@dataclass(frozen=True)
class SweepSpec:
    """What to run: ``task`` (a registered task name, see ``register_task``; or a
    ``"module:function"`` path, run only with ``allow_module_tasks``), ``base`` parameters
    for every point, ``grid`` ``{name: [values]}`` (every combination), ``random``
    ``{name: {"low", "high", "log": bool} or [choices]}`` sampled ``samples`` times with
    ``seed`` (combined with every grid point), ``retries`` per point, ``traces``: keep the
    arrays a task returns under ``"traces"``; ``max_points``: the most points the spec may
    give (default ``MAX_POINTS``: counted before any point is built); ``timeout``: seconds a
    point may run (None: no limit). Raises ``ValueError`` naming the field for anything
    else."""

    task: str
    base: dict = field(default_factory=dict)
    grid: dict = field(default_factory=dict)
    random: dict = field(default_factory=dict)
    samples: int = 0
    seed: int = 0
    retries: int = 2
    traces: bool = False
    max_points: int = MAX_POINTS
    timeout: float | None = None

    def __post_init__(self):
        if not isinstance(self.task, str) or not (TASK_NAME.fullmatch(self.task) or MODULE_PATH.fullmatch(self.task)):
            raise ValueError(f"task = {self.task!r} is invalid: give a registered task name (e.g. 'worm', 'cuba') or "
                             "'module:function'")
        for name in ("base", "grid", "random"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a table of parameter names, got {type(getattr(self, name)).__name__}")
        for k, values in self.grid.items():
            _check_values(f"grid.{k}", values)
        for k, rule in self.random.items():
            if isinstance(rule, dict):
                if set(rule) - {"low", "high", "log"} or not {"low", "high"} <= set(rule):
                    raise ValueError(f"random.{k}: give low, high and optionally log, got {sorted(rule)}")
                lo, hi = rule["low"], rule["high"]
                if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)) or lo >= hi:
                    raise ValueError(f"random.{k}: low = {lo!r} and high = {hi!r} must be finite numbers with low < high")
                if rule.get("log") and lo <= 0:
                    raise ValueError(f"random.{k}: a log-uniform range needs low > 0, got {lo}")
            else:
                _check_values(f"random.{k}", rule)
        both = (set(self.grid) | set(self.random)) & set(self.base) or set(self.grid) & set(self.random)
        if both:
            raise ValueError(f"parameters {sorted(both)} are given twice (base, grid and random must not overlap)")
        for name, lo in (("samples", 0), ("seed", 0), ("retries", 0), ("max_points", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} = {v!r} is invalid: must be an integer >= {lo}")
        if self.random and self.samples < 1:
            raise ValueError("random parameters need samples >= 1")
        t = self.timeout
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0):
            raise ValueError(f"timeout = {t!r} is invalid: give seconds > 0 (or leave it out for no limit)")
        if self.n_points > self.max_points:
            raise ValueError(f"the spec gives {self.n_points:,} points, more than max_points = {self.max_points:,}; "
                             "set max_points in the spec to run that many")

    @property
    def n_points(self) -> int:
        """How many points the spec gives, counted without building them."""
        n = math.prod(len(v) for v in self.grid.values())
        return n * (self.samples if self.random else 1)

    @classmethod
    def load(cls, path) -> "SweepSpec":
        """A spec from a ``.toml`` or ``.json`` file with the fields above. Raises
        ``ValueError`` naming the file for unreadable files and missing, unknown or bad
        fields."""
        path = Path(path)
        try:
            text = path.read_text()
            raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such sweep spec") from None
        except IsADirectoryError:
            raise ValueError(f"{path}: a folder, not a sweep spec file") from None
        except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid {'TOML' if path.suffix == '.toml' else 'JSON'} sweep spec: {exc}") from None
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: a sweep spec is a table of fields")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise ValueError(f"{path}: unknown fields {sorted(unknown)}; allowed: {sorted(cls.__dataclass_fields__)}")
        if "task" not in raw:
            raise ValueError(f"{path}: no 'task' field (the task to run at every point, e.g. task = \"worm\")")
        try:
            return cls(**raw)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def iter_points(self):
        """Every point's parameters (base merged), grid-major, in a fixed order, one at a
        time (the random draws come from ``seed``, so iterating again gives the same
        points)."""
        names = list(self.grid)
        draws = [{}]
        if self.random:
            rng = np.random.default_rng(self.seed)
            draws = []
            for _ in range(self.samples):
                d = {}
                for k, rule in self.random.items():
                    if isinstance(rule, dict):
                        lo, hi = float(rule["low"]), float(rule["high"])
                        d[k] = float(np.exp(rng.uniform(math.log(lo), math.log(hi)))) if rule.get("log") else float(rng.uniform(lo, hi))
                    else:
                        d[k] = rule[int(rng.integers(len(rule)))]
                draws.append(d)
        for combo in itertools.product(*(self.grid[k] for k in names)):
            for d in draws:
                yield {**self.base, **dict(zip(names, combo)), **d}

    def points(self) -> list[dict]:
        """``iter_points`` as a list."""
        return list(self.iter_points())


def point_key(task: str, params: dict) -> str:
    """A stable name for a point: the hash of its task and parameters (resume matches
    points by it, not by position)."""
    blob = json.dumps({"task": task, "params": params}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]
