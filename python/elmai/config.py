"""Build flags for linking ELM (or any host) against elmai, like nc-config.

python -m elmai.config --fflags     # -I<dir with elmai.mod>
python -m elmai.config --libs       # -L... -lelmai_fortran -lelmai -lelmai_io + rpaths
python -m elmai.config --cmake-dir  # for find_package(elmai CONFIG)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def install_dir() -> Path:
    """Folder holding the compiled core (_core, lib/, include/)."""
    from elmai import _core

    return Path(_core.__file__).resolve().parent


def include_dir() -> Path:
    return install_dir() / "include"


def fortran_module_dir() -> Path:
    return include_dir() / "fortran"


def lib_dir() -> Path:
    return install_dir() / "lib"


def cmake_dir() -> Path:
    return lib_dir() / "cmake" / "elmai"


def torch_lib_dir() -> Path:
    import importlib.util

    from elmai.errors import RunError

    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        raise RunError("torch is not installed in this environment")
    return Path(spec.origin).parent / "lib"


def cflags() -> str:
    return f"-I{include_dir()}"


def fflags() -> str:
    return f"-I{fortran_module_dir()}"


def libs(fortran: bool = True) -> str:
    names = "-lelmai_fortran -lelmai -lelmai_io" if fortran else "-lelmai -lelmai_io"
    rpath = f"-Wl,-rpath,{lib_dir()} -Wl,-rpath,{torch_lib_dir()}"
    return f"-L{lib_dir()} {names} {rpath}"


def build_info() -> dict[str, str]:
    from elmai import _runner

    return dict(_runner.build_info())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m elmai.config", description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--fflags", action="store_true", help="Fortran compile flags (module path)")
    g.add_argument("--cflags", action="store_true", help="C/C++ compile flags (elmai.h)")
    g.add_argument("--libs", action="store_true", help="link flags for Fortran hosts")
    g.add_argument("--clibs", action="store_true", help="link flags for C/C++ hosts")
    g.add_argument("--cmake-dir", action="store_true", help="directory of elmaiConfig.cmake")
    g.add_argument("--build-info", action="store_true", help="versions the core was built with (JSON)")
    a = p.parse_args(argv)
    if a.fflags:
        print(fflags())
    elif a.cflags:
        print(cflags())
    elif a.libs:
        print(libs(fortran=True))
    elif a.clibs:
        print(libs(fortran=False))
    elif a.cmake_dir:
        print(cmake_dir())
    else:
        print(json.dumps(build_info(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
