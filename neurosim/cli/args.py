"""What every ``neurosim`` subcommand shares: the argument parser with one-line errors, the
argparse types of numbers, and the default data folder."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

__all__ = ["Parser", "number", "fractions", "given", "SHARED_DATA", "INT0", "INT1", "POSITIVE", "NONNEG", "FINITE"]

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
"""../shared/data beside the repository: the default place of the datasets the commands read."""


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse prints the usage block first). An option
    that belongs to a sibling subcommand (``train nmnist --l1``) is named with the
    subcommands that take it."""

    siblings: dict = {}

    def error(self, message):
        if message.startswith("unrecognized arguments:"):
            hints = []
            for flag in (w.split("=")[0] for w in message.split(":", 1)[1].split() if w.startswith("--")):
                owners = [name for name, p in self.siblings.items() if p is not self and flag in p._option_string_actions]
                if owners:
                    hints.append(f"{flag} is for {' and '.join(owners)}")
            if hints:
                message += "; " + "; ".join(hints)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_group(sub, name: str, help: str, description: str, dest: str, choices: dict) -> dict:
    """A subcommand with subcommands of its own (``train nmnist``, ``deploy nir``): each of
    ``choices`` (name -> help) becomes a parser with only its own options. Returns the
    parsers by name."""
    group = sub.add_parser(name, help=help, description=description)
    inner = group.add_subparsers(dest=dest, required=True, metavar="{" + ",".join(choices) + "}")
    parsers = {k: inner.add_parser(k, help=h, description=h) for k, h in choices.items()}
    for p in parsers.values():
        p.siblings = parsers
    return parsers


def number(kind, lo=None, lo_open=False):
    """An argparse ``type``: an int or a finite float, at least (or above) ``lo``."""
    noun = "an integer" if kind is int else "a finite number"

    def parse(text):
        try:
            x = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None
        if kind is float and not math.isfinite(x):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {noun}")
        if lo is not None and (x < lo or (lo_open and x == lo)):
            raise argparse.ArgumentTypeError(f"{text!r}: must be {noun} {'>' if lo_open else '>='} {lo:g}")
        return x
    return parse


def fractions(text):
    """An argparse ``type``: comma-separated fractions in (0, 1]."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: every fraction must be in (0, 1]")
    return values


def given(**options) -> dict:
    """The options the user set (argparse default None): the rest keep the library's defaults."""
    return {k: v for k, v in options.items() if v is not None}


INT1 = number(int, 1)
INT1.__doc__ = "argparse type: an integer >= 1."
INT0 = number(int, 0)
INT0.__doc__ = "argparse type: an integer >= 0."
POSITIVE = number(float, 0, lo_open=True)
POSITIVE.__doc__ = "argparse type: a finite number > 0."
NONNEG = number(float, 0)
NONNEG.__doc__ = "argparse type: a finite number >= 0."
FINITE = number(float)
FINITE.__doc__ = "argparse type: a finite number."
