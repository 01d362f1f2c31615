"""Build hook: ship the default models inside the package (everything else is in pyproject.toml).

The repository keeps processes/, dmn/ and forms/ at its root (tests and tools point at them);
a wheel has no repository root, so build_py copies them to app/default_models/ in the build tree,
where app.config finds them when MASH_MODELS_DIR is not set (`mash demo`, `mash deploy`).

Why this file still exists: pyproject.toml can only ship files that live inside a package
directory. Mapping the three root folders in as packages (package-dir) would make them Python
packages and editable installs would import them from odd places; a copy at build time is
simpler and keeps the repository layout as it is. Only the cmdclass lives here.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MODEL_DIRS = ("processes", "dmn", "forms")


class BuildPyWithModels(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads the repository itself
            return
        target = Path(self.build_lib) / "app" / "default_models"
        for name in MODEL_DIRS:
            source = HERE / name
            if not source.is_dir():
                raise SystemExit(f"setup.py: {name}/ is missing; the wheel must carry the default models")
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))


setup(cmdclass={"build_py": BuildPyWithModels})
