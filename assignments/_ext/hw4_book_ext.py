"""Sphinx extension of the HW4 book: MathJax 3 served from the site itself.

Sphinx loads MathJax from a CDN by default, which a student behind a campus proxy, a
reviewer offline and the book's browser test cannot reach. The MathJax 3.2.2
distribution shipped by the ``sphinx-mathjax-offline`` package (requirements-dev.txt)
is copied into ``_static/mathjax`` and every page loads it from there.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

MATHJAX_ENTRY = "tex-chtml.js"  # TeX input, CommonHTML output (what the CDN default is)


def _mathjax_folder() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("MathJax is not installed: `pip install sphinx-mathjax-offline` "
                           "(it is in requirements-dev.txt) and build again")
    folder = Path(spec.origin).parent / "static" / "mathjax"
    if not (folder / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"{folder / MATHJAX_ENTRY} is missing: reinstall sphinx-mathjax-offline")
    return folder


def _use_local_mathjax(app, config) -> None:
    _mathjax_folder()  # fail early, before a long build, when MathJax is missing
    config.mathjax_path = f"mathjax/{MATHJAX_ENTRY}"


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / MATHJAX_ENTRY).is_file():
        shutil.copytree(_mathjax_folder(), target, dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
