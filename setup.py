# A shim: the package is declared in pyproject.toml. Dataflow's --setup_file needs a setup.py.
from setuptools import setup

setup()
