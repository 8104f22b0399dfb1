"""Sphinx configuration of the neurosim documentation site (``make docs``).

The user guide is Markdown (MyST), the tutorials are the notebooks of ``notebooks/``, copied
in at build time and executed (myst-nb), and the API reference is generated from the
docstrings of ``neurosim``, ``connectomes``, ``circuits`` and ``hardware`` (autodoc, one
page per module written by ``_write_api_pages``).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import neurosim  # noqa: E402

project = "neurosim"
author = "the neurosim developers"
copyright = "2026, the neurosim developers"
release = version = neurosim.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints", "figures/README*"]

html_theme = "furo"
html_title = f"neurosim {release}"

# --- API reference ---------------------------------------------------------------------
# One page per module, written by ``_write_api_pages`` (autosummary's recursion resolves
# ``hardware.loihi.quantize`` to the function the package exports, not to the module).
API_PACKAGES = ("neurosim", "connectomes", "circuits", "hardware")
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# MathJax renders the equations in the reader's browser (from its CDN, Sphinx's default);
# NEUROSIM_DOCS_MATHJAX points at a local copy for checking pages without network.
if os.environ.get("NEUROSIM_DOCS_MATHJAX"):
    mathjax_path = os.environ["NEUROSIM_DOCS_MATHJAX"]

# --- MyST and notebooks ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = os.environ.get("NEUROSIM_DOCS_EXECUTE", "cache")
nb_execution_cache_path = str(ROOT / "runs" / "docs" / "jupyter_cache")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_in_temp = True

INTERSPHINX = {
    "python": "https://docs.python.org/3/",
    "numpy": "https://numpy.org/doc/stable/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "brian2": "https://brian2.readthedocs.io/en/stable/",
    "nir": "https://neuroir.org/docs/",
}


def _reachable(url: str) -> bool:
    """Whether the inventory's host resolves: a build without network (CI here) leaves
    intersphinx out instead of failing on a warning it cannot avoid."""
    import socket
    from urllib.parse import urlparse

    try:
        socket.getaddrinfo(urlparse(url).hostname, 443)
        return True
    except OSError:
        return False


intersphinx_mapping = {name: (url, None) for name, url in INTERSPHINX.items() if _reachable(url)}
intersphinx_timeout = 10


def _copy_tutorials(app) -> None:
    """The notebooks live in ``notebooks/`` (where the test suite runs them); Sphinx reads
    only its source folder, so they are copied into ``docs/tutorials/`` (ignored by git)."""
    target = DOCS / "tutorials"
    target.mkdir(exist_ok=True)
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        dest = target / nb.name
        if not dest.exists() or dest.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, dest)


def _api_modules() -> dict:
    """Every module of ``API_PACKAGES`` -> whether it is a package (``__main__`` modules left
    out: importing them runs the command)."""
    import importlib
    import pkgutil

    found = {}
    for name in API_PACKAGES:
        found[name] = True
        for info in pkgutil.walk_packages(importlib.import_module(name).__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                found[info.name] = info.ispkg
    return found


def _write_api_pages(app) -> None:
    """``docs/api/<module>.rst`` for every module (ignored by git): its docstring and members
    (a package's own, the names it re-exports are documented where they are defined), and
    for a package a table of contents of its modules."""
    out = DOCS / "api"
    out.mkdir(exist_ok=True)
    found = _api_modules()
    for name, is_package in found.items():
        children = sorted(m for m in found if m.rpartition(".")[0] == name)
        lines = [name, "=" * len(name), "", f".. automodule:: {name}"]
        if is_package:
            lines += ["   :ignore-module-all:", "", ".. toctree::", "   :maxdepth: 1", ""] + [f"   {c}" for c in children]
        text = "\n".join(lines) + "\n"
        page = out / f"{name}.rst"
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
    for stale in out.glob("*.rst"):
        if stale.stem not in found:
            stale.unlink()


def setup(app):
    app.connect("builder-inited", _copy_tutorials)
    app.connect("builder-inited", _write_api_pages)
