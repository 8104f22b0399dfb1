"""Installable where users are (issue #36, criterion 3): the built wheel goes into a fresh
virtual environment that already holds torch 2.13.0, with the project's constraints; pip
keeps that torch, and an example runs from a folder outside the repository against the
installed package. Also: `neurosim --version`, and `import hardware.loihi` makes Lava
importable on Python 3.11 by itself."""
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, cwd, timeout=900) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get("NUMBA_BOUNDSCHECK")), reason="packaging only: run once, not again in the bounds-checked pass")
def test_wheel_installs_into_a_fresh_environment_beside_its_torch(tmp_path):
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", ROOT], ROOT)
    (wheel,) = (tmp_path / "dist").glob("neurosim-*.whl")
    venv.create(tmp_path / "env", with_pip=True)
    py = tmp_path / "env" / "bin" / "python"
    run([py, "-m", "pip", "install", "-q", "torch==2.13.0"], tmp_path)  # the user's torch, there first
    torch_init = Path(run([py, "-c", "import torch; print(torch.__file__)"], tmp_path).strip())
    before = torch_init.stat().st_mtime_ns

    log = run([py, "-m", "pip", "install", "-c", ROOT / "constraints.txt", wheel], tmp_path)
    assert "Requirement already satisfied: torch" in log
    assert torch_init.stat().st_mtime_ns == before  # not reinstalled
    # without the constraints too (only the floors of pyproject.toml): nothing would replace it
    report = tmp_path / "report.json"
    run([py, "-m", "pip", "install", "--dry-run", "--quiet", "--report", report, wheel], tmp_path)
    assert "torch" not in {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}

    where = run([py, "-c", "import neurosim, torch; print(neurosim.__file__); print(torch.__version__)"], tmp_path).split()
    assert where[0].startswith(str(tmp_path / "env")) and where[1].startswith("2.13.0")
    assert run([tmp_path / "env" / "bin" / "neurosim", "--version"], tmp_path).strip() == "neurosim 0.1.0"
    out = run([py, ROOT / "examples" / "cuba_raster.py", "--quick"], tmp_path)
    assert "Hz mean rate" in out and (tmp_path / "runs/examples/cuba/raster.png").is_file()


def test_version_option(capsys):
    import neurosim
    from neurosim.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out.strip() == f"neurosim {neurosim.__version__}"


def test_importing_hardware_loihi_makes_lava_importable():
    """In a fresh interpreter: no call to ``import_lava`` needed."""
    code = "import hardware.loihi, lava.proc.lif.process, lava.proc.lif.models; print('ok')"
    assert run([sys.executable, "-c", code], ROOT).strip() == "ok"
