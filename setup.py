"""The conformance corpus travels with the package: `fixtures/corpus` is copied to `conformance/corpus_data` in
every built wheel (metadata and the rest of the build configuration live in pyproject.toml)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"


class BuildWithCorpus(build_py):
    def run(self) -> None:
        super().run()
        if not (CORPUS / "VERSION").is_file():
            raise SystemExit(f"no corpus at {CORPUS}: run `dids fixtures build` before building the package")
        target = Path(self.build_lib) / "conformance" / "corpus_data"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(CORPUS, target)


setup(cmdclass={"build_py": BuildWithCorpus})
