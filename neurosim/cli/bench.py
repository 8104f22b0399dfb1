"""``neurosim bench NAME [args]``: run a benchmark script (``benchmarks/NAME.py``) of a source
checkout against its peer."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

BENCHMARKS = ["cuba", "scale", "worm", "train_lif", "astro_coba", "loihi_fixed_point", "spinnaker_mapping", "spinnaker_toolchain", "sweep", "input_memory",
              "nir_paper_cnn"]


def add(sub) -> None:
    """Add ``neurosim bench`` to the subcommands ``sub``."""
    b = sub.add_parser("bench", help="run a benchmark against its peer (benchmarks/<name>.py)")
    b.add_argument("name", choices=BENCHMARKS)
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark (see its --help)")
    b.set_defaults(func=run, parser=b)


def run(a) -> int:
    """Run the benchmark ``neurosim bench NAME`` names; returns its exit status."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / f"{a.name}.py"
    if not script.is_file():
        print(f"error: benchmark script {script} not found; benchmarks run from a source checkout "
              f"(available: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *a.args])
