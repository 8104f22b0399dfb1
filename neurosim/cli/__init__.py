"""The ``neurosim`` command: the one place that wires the wings (``circuits``,
``connectomes``, ``hardware``) to the core, importing them lazily. One module per command
group, each owning its subparser and handlers: ``simulate`` (cuba), ``worm`` (worm, fit,
activity, atlas), ``train`` (train TASK, eval TASK), ``deploy`` (deploy TARGET), ``sweep``,
``bench``, ``plasticity`` (stdp EXPERIMENT). Handlers parse, call a function of a family or a backend that returns data, and
print it; experiments live in the families."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from . import bench, deploy, plasticity, simulate, sweep, train, worm
from .args import SHARED_DATA, Parser

__all__ = ["main", "SHARED_DATA"]

GROUPS = (simulate, worm, train, deploy, sweep, bench, plasticity)


def parser() -> Parser:
    """The whole command line."""
    from .. import __version__

    ap = Parser(prog="neurosim", description="Spiking and neuromorphic simulation on one neuron/synapse core.")
    ap.add_argument("--version", action="version", version=f"neurosim {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add(sub)
    return ap


def _outputs(a) -> list:
    """(path, is_folder) of every output the command will write, to check before any work."""
    if a.command == "deploy":
        return deploy.outputs(a)
    if a.command == "atlas":
        return [(a.json, False)] if a.json else []
    out = getattr(a, "out", None)
    return [(out, True)] if out else []


def _missing_folders(paths) -> list:
    """The folders of ``paths`` (and their parents) that do not exist yet, innermost first."""
    missing = []
    for p in paths:
        p = Path(p).absolute()
        while not p.exists():
            missing.append(p)
            p = p.parent
    return missing


def _remove_if_empty(folders) -> None:
    for d in folders:
        try:
            d.rmdir()  # only succeeds on an empty folder
        except OSError:
            pass


def _user_errors() -> tuple:
    """Errors that bad input or a bad environment cause: shown as one line
    (``NEUROSIM_TRACEBACK=1`` shows the traceback)."""
    from ..runlock import OutputLockedError

    return (ValueError, KeyError, OSError, MemoryError, FloatingPointError, OutputLockedError)


def main(argv=None) -> int:
    """Entry point of the ``neurosim`` command; returns the exit status (0 ok, 2 bad input,
    130 interrupted). Errors caused by input are one line on stderr, never a traceback,
    and a failed run removes the output folders it created while they are empty."""
    argv = list(sys.argv[1:] if argv is None else argv)
    a, extra = parser().parse_known_args(argv)
    if extra:  # reported by the subcommand, which names the sibling that takes such an option
        a.parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if hasattr(a, "validate"):  # checks that involve several options or the data packages
        a.validate(a)
    a.argv = argv
    created = _missing_folders(Path(p) if folder else Path(p).parent for p, folder in _outputs(a))
    rc = 1
    try:
        from ..atomic import check_output_path

        for path, folder in _outputs(a):  # an output that cannot be written is found before any work
            check_output_path(path, folder=folder)
        rc = a.func(a)
    except KeyboardInterrupt:
        print(f"\nneurosim {a.command}: interrupted", file=sys.stderr)
        rc = 130
    except _user_errors() as exc:
        if os.environ.get("NEUROSIM_TRACEBACK"):
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"neurosim {a.command}: error: {msg or type(exc).__name__}", file=sys.stderr)
        rc = 2
    finally:
        if rc != 0:
            _remove_if_empty(created)
    return rc


if __name__ == "__main__":
    sys.exit(main())
