"""Builds the generator's compiled core (``levelforge.generation._core``) from its Cython
source; everything else about the package is in ``pyproject.toml``.

The extension is required here: ``pip install -e .`` (``make run``, ``make test``) fails
when it cannot be compiled, rather than leaving a silently slower generator. Without the
built module (a checkout on ``PYTHONPATH``) the pure-Python pipeline runs, the same bytes.
``-ffp-contract=off`` keeps the C compiler from fusing multiply-adds, so every
floating-point step rounds exactly as Python's does.
"""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "levelforge.generation._core",
                ["src/levelforge/generation/_core.pyx"],
                extra_compile_args=["-O2", "-ffp-contract=off"],
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
