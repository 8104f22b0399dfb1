"""Check the built API reference: every public name of ``neurosim``, ``connectomes``,
``circuits`` and ``hardware`` has an entry (an HTML anchor of its full name) with its
docstring. Public: a module's ``__all__``, or, without one, the functions and classes it
defines whose names do not start with ``_``. A name a package re-exports counts where it is
defined. Run by ``make docs`` after Sphinx: ``python docs/check_api.py runs/docs/html``.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

PACKAGES = ("neurosim", "connectomes", "circuits", "hardware")


def modules():
    """Every module of the packages (``__main__`` modules left out: they run a command)."""
    for name in PACKAGES:
        package = importlib.import_module(name)
        yield package
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not info.name.endswith("__main__"):
                yield importlib.import_module(info.name)


def public_names(module):
    """(full name where documented, object) of the module's public names."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_")
                 and (inspect.isclass(obj) or inspect.isfunction(obj)) and getattr(obj, "__module__", None) == module.__name__]
    for n in names:
        obj = getattr(module, n)
        home = getattr(obj, "__module__", None) if (inspect.isclass(obj) or inspect.isroutine(obj)) else None
        qual = getattr(obj, "__qualname__", n)
        if home and home != module.__name__ and home.split(".")[0] in PACKAGES:
            yield f"{home}.{qual}", obj  # a re-export: documented where it is defined
        else:
            yield f"{module.__name__}.{n}", obj


def main(html_dir: str) -> int:
    html = "".join(p.read_text(errors="replace") for p in Path(html_dir).glob("api/*.html"))
    anchors = set(re.findall(r'id="([A-Za-z_][\w.-]*)"', html))
    missing, undocumented = [], []
    seen = set()
    for module in modules():
        if module.__name__ not in anchors and f"module-{module.__name__}" not in anchors:
            missing.append(f"module {module.__name__}")
        for full, obj in public_names(module):
            if full in seen:
                continue
            seen.add(full)
            routine = inspect.isclass(obj) or inspect.isroutine(obj)
            top = module.__name__.split(".")[0]
            # data has no home module to look up: a re-exported constant counts where it is defined
            if full not in anchors and (routine or not any(a.startswith(top + ".") and a.endswith("." + full.rsplit(".", 1)[1])
                                                           for a in anchors)):
                missing.append(full)
            elif routine and not inspect.getdoc(obj):
                undocumented.append(full)
    for what, names in (("not in the API reference", missing), ("without a docstring", undocumented)):
        if names:
            print(f"{len(names)} public names {what}:", *names, sep="\n  ", file=sys.stderr)
    print(f"API reference: {len(seen)} public names checked, {len(missing)} missing, {len(undocumented)} without a docstring")
    return 1 if missing or undocumented else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "runs/docs/html"))
