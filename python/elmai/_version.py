"""elmai's version, from one place: `version` in pyproject.toml.

An installed elmai (a wheel, or `pip install -e .`) reads it back from its metadata; a
source tree on PYTHONPATH without an install reads pyproject.toml beside it.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path


def _version() -> str:
    try:
        return metadata.version("elmai")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        if pyproject.is_file():
            match = re.search(r'^version = "([^"]+)"', pyproject.read_text(), re.M)
            if match:
                return match.group(1)
        return "0+unknown"


__version__ = _version()
