"""A SpiNNaker-1-style machine: chips on a 2-D triangular mesh, 6 links per chip, 16
application cores per chip, one multicast router per chip with a 1023-entry key/mask table
(Furber et al. 2014, Proc. IEEE 102:652; Heathcote 2016, PhD thesis, for the board layout).

Chip (x, y) links, numbered as SpiNNaker numbers them: 0 east (+1, 0), 1 north-east
(+1, +1), 2 north (0, +1), 3 west (-1, 0), 4 south-west (-1, -1), 5 south (0, -1).
``Machine.board()`` is the 48-chip SpiNN-5 board (a hexagon of chips in an 8 x 8 grid, no
wrap-around); ``Machine.torus(w, h)`` a toroidal machine of any size (a million-core
machine is ``torus(256, 256)`` with 18 cores per chip on paper, 16 of them for
applications).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Machine", "LINKS", "opposite"]

#: The six chip-to-chip link directions (dx, dy) of SpiNNaker's triangular mesh, in link order 0-5.
LINKS = ((1, 0), (1, 1), (0, 1), (-1, 0), (-1, -1), (0, -1))
# neighbour order for shortest-path trees: diagonal links first, then the axes, so that
# paths take diagonal steps first ("dimension order" on the triangular mesh)
_LINK_ORDER = (1, 4, 0, 3, 2, 5)


def opposite(link: int) -> int:
    """The link a packet sent on ``link`` arrives by."""
    return (link + 3) % 6


# SpiNN-5: for each x, the range of y that holds a chip
_BOARD_Y = {0: (0, 3), 1: (0, 4), 2: (0, 5), 3: (0, 6), 4: (0, 7), 5: (1, 7), 6: (2, 7), 7: (3, 7)}


@dataclass
class Machine:
    """``chips``: (x, y) coordinates; ``width`` x ``height`` the grid they sit in; ``wrap``:
    toroidal links; ``cores_per_chip`` application cores; per-core limits ``neurons_per_core``
    and ``dtcm_bytes`` (neuron state), per-chip ``sdram_bytes`` (synaptic matrices);
    ``table_size`` router entries; ``timestep`` (s). Raises ``ValueError`` for values out of
    range."""

    chips: list
    width: int
    height: int
    wrap: bool = False
    cores_per_chip: int = 16
    neurons_per_core: int = 256
    dtcm_bytes: int = 64 * 1024
    sdram_bytes: int = 128 * 1024 * 1024
    table_size: int = 1023
    timestep: float = 1e-3
    _index: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        for name in ("width", "height", "cores_per_chip", "neurons_per_core", "dtcm_bytes", "sdram_bytes", "table_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Machine.{name} = {v!r} is invalid: must be an integer >= 1")
        if self.timestep not in (1e-3, 1e-4):
            raise ValueError(f"Machine.timestep = {self.timestep!r}: SpiNNaker runs at 1 ms (or 0.1 ms)")
        self.chips = [tuple(map(int, c)) for c in self.chips]
        if not self.chips or len(set(self.chips)) != len(self.chips):
            raise ValueError("Machine.chips must be a non-empty list of distinct (x, y) coordinates")
        self._index = {c: k for k, c in enumerate(self.chips)}

    @classmethod
    def board(cls, **kw) -> "Machine":
        """The 48-chip SpiNN-5 board (768 application cores)."""
        chips = [(x, y) for x in range(8) for y in range(_BOARD_Y[x][0], _BOARD_Y[x][1] + 1)]
        return cls(chips, 8, 8, False, **kw)

    @classmethod
    def torus(cls, width: int, height: int, **kw) -> "Machine":
        """``width`` x ``height`` chips with wrap-around links."""
        return cls([(x, y) for x in range(width) for y in range(height)], width, height, True, **kw)

    @property
    def n_chips(self) -> int:
        """Number of chips."""
        return len(self.chips)

    @property
    def n_cores(self) -> int:
        """Application cores in all."""
        return self.n_chips * self.cores_per_chip

    def chip_index(self, chip) -> int:
        """Index of chip (x, y) in ``chips``."""
        return self._index[tuple(chip)]

    def neighbour(self, chip, link: int):
        """The chip at the far end of ``link`` of ``chip``, or None (the edge of a board)."""
        dx, dy = LINKS[link]
        x, y = chip[0] + dx, chip[1] + dy
        if self.wrap:
            x, y = x % self.width, y % self.height
        return (x, y) if (x, y) in self._index else None

    def shortest_path_tree(self, source) -> dict:
        """Breadth-first shortest-path tree from chip ``source``: chip -> (parent chip, link
        from the parent), with diagonal links preferred on ties."""
        tree = {tuple(source): (None, None)}
        queue = deque([tuple(source)])
        while queue:
            c = queue.popleft()
            for link in _LINK_ORDER:
                n = self.neighbour(c, link)
                if n is not None and n not in tree:
                    tree[n] = (c, link)
                    queue.append(n)
        return tree

    def distances(self) -> np.ndarray:
        """Hop distances between all chips, (n_chips, n_chips)."""
        xy = np.array(self.chips)
        dx = xy[:, 0][None, :] - xy[:, 0][:, None]
        dy = xy[:, 1][None, :] - xy[:, 1][:, None]
        best = None
        shifts = [(sx, sy) for sx in (-1, 0, 1) for sy in (-1, 0, 1)] if self.wrap else [(0, 0)]
        for sx, sy in shifts:
            ddx, ddy = dx + sx * self.width, dy + sy * self.height
            d = np.where(ddx * ddy >= 0, np.maximum(np.abs(ddx), np.abs(ddy)), np.abs(ddx) + np.abs(ddy))
            best = d if best is None else np.minimum(best, d)
        return best
