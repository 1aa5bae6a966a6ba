"""Build hook: ship the repository's `rules/` and `sources.yaml` inside the package.

The top-level `rules/*.yaml` and `sources.yaml` are the one copy staff and developers edit.
A wheel (`pip install .`) carries them as `monitor/shipped/`, so an installed `monitor` works
from any folder; an editable install reads them from the checkout instead (monitor/defaults.py).
Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


class BuildWithDefaults(build_py):
    """build_py that also copies sources.yaml and rules/*.yaml into monitor/shipped/."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own files
        target = Path(self.build_lib) / "monitor" / "shipped"
        rules = sorted((ROOT / "rules").glob("*.yaml"))
        if not (ROOT / "sources.yaml").is_file() or not rules:
            raise SystemExit("setup.py: sources.yaml and rules/*.yaml must be beside setup.py to build")
        if target.exists():
            shutil.rmtree(target)
        (target / "rules").mkdir(parents=True)
        shutil.copy2(ROOT / "sources.yaml", target / "sources.yaml")
        for rule in rules:
            shutil.copy2(rule, target / "rules" / rule.name)


setup(cmdclass={"build_py": BuildWithDefaults})
