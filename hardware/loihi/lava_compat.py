"""Import Lava 0.10.0 on Python 3.11, without touching site-packages.

``lava-nc`` 0.10.0 declares Python < 3.11. It runs on 3.11 except for one module:
``lava/magma/compiler/var_model.py`` gives dataclass fields mutable defaults
(``x: ByteEncoder = ByteEncoder()``), which Python 3.11's ``dataclasses`` rejects with
"mutable default ... use default_factory". ``install()`` puts an import hook at the front of
``sys.meta_path`` that, for that one module only, rewrites each such line to
``field(default_factory=ByteEncoder)`` while loading it. The file on disk and its byte-code
cache are never written: the hook compiles the patched source in memory.

The hook is a no-op when it is not needed: if the source no longer has the pattern (Lava
fixed it) the module loads unchanged, and on Python < 3.11 ``install`` does nothing.
``import_lava()`` is the one entry point the rest of ``hardware.loihi`` uses; it also
imports Lava's runtime when the process has already fixed its multiprocessing start method
to 'fork' (Lava's import would otherwise fail with "context has already been set").
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys

__all__ = ["TARGET", "patch_source", "install", "import_lava", "LavaUnavailable"]

#: The one Lava module the import hook patches.
TARGET = "lava.magma.compiler.var_model"
# ``name: ByteEncoder = ByteEncoder()`` (any indentation) -> default_factory
_MUTABLE_DEFAULT = re.compile(r"^(\s+\w+\s*:\s*ByteEncoder\s*=\s*)ByteEncoder\(\)\s*$", re.MULTILINE)


class LavaUnavailable(ImportError):
    """Lava (lava-nc) is not installed or cannot be imported."""


def patch_source(source: str) -> tuple[str, int]:
    """``(patched source, number of lines rewritten)``; the source is returned unchanged
    (count 0) when it has no mutable ``ByteEncoder()`` default."""
    # ``dataclasses.field`` by full name: no import line to add, line numbers unchanged
    patched, n = _MUTABLE_DEFAULT.subn(r"\1__import__('dataclasses').field(default_factory=ByteEncoder)", source)
    return patched, n


class _PatchingLoader(importlib.machinery.SourceFileLoader):
    lines_rewritten = 0

    def get_code(self, fullname):
        # never read or write the byte-code cache: it belongs to the unpatched file
        source = importlib.util.decode_source(self.get_data(self.path))
        patched, n = patch_source(source)
        type(self).lines_rewritten = n
        return compile(patched, self.path, "exec", dont_inherit=True)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not str(spec.origin).endswith(".py"):
            return spec
        spec.loader = _PatchingLoader(fullname, spec.origin)
        return spec


_FINDER = _Finder()


def install() -> bool:
    """Put the hook in ``sys.meta_path`` (once). Returns whether it is active (False on
    Python < 3.11, where Lava imports as it is)."""
    if sys.version_info < (3, 11):
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True


def _import_runtime() -> None:
    """Import Lava's multiprocessing runtime. At import it calls
    ``multiprocessing.set_start_method('fork')``, which raises "context has already been
    set" once anything in the process has fixed the start method (even to 'fork'). While
    that one module loads, a call that asks for the method already in force is let through;
    any other start method is an error Lava cannot run with."""
    import multiprocessing as mp

    name = "lava.magma.runtime.message_infrastructure.multiprocessing"
    if name in sys.modules:
        return
    current = mp.get_start_method(allow_none=True)
    if current not in (None, "fork"):
        raise LavaUnavailable(f"Lava's runtime needs the 'fork' multiprocessing start method; this process uses {current!r}")
    original = mp.set_start_method

    def set_start_method(method, force=False):
        if not force and method == mp.get_start_method(allow_none=True):
            return
        original(method, force=force)
    mp.set_start_method = set_start_method
    try:
        importlib.import_module(name)
    finally:
        mp.set_start_method = original


def import_lava():
    """Import and return the ``lava`` package (with the hook installed). Raises
    ``LavaUnavailable`` with the install command when lava-nc is missing."""
    install()
    try:
        import lava  # noqa: F401
        import lava.magma.compiler.var_model  # noqa: F401  (the module the hook exists for)
        _import_runtime()
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] == "lava":
            raise LavaUnavailable(
                "Lava (lava-nc 0.10.0) is not installed; `make install` installs it with "
                "`pip install --no-deps --ignore-requires-python lava-nc==0.10.0 'asteval<0.10'`") from e
        raise
    return sys.modules["lava"]
