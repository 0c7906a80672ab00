"""The core runs without the Python packages of training and the apps: `check`, `restart
info`, `forcing climatology`, `spinup` (the shipped model through the C++ runner) and
`refine` work in a process where importing torch, scipy, matplotlib, xarray or
global_land_mask fails. What still needs the torch wheel, and why: the compiled
extension links libtorch's shared libraries (libtorch, libtorch_cpu, libc10), which pip
ships only inside the torch wheel (pyproject.toml says so beside the dependency)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from elmai.apps.testbed.run import run_testbed
from elmai.apps.testbed.verify import verify
from tests.conftest import shared_data

APP_PACKAGES = ("torch", "scipy", "matplotlib", "xarray", "global_land_mask")
# runs `elmai ARGS...` with those packages unimportable (a meta-path hook refuses them)
BLOCKED_CLI = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {APP_PACKAGES!r}:
            raise ImportError("the core must not import " + name)
sys.meta_path.insert(0, Refuse())
from elmai.cli import main
sys.exit(main(sys.argv[1:]))
"""
YEARS = 4


def elmai_without_apps(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKED_CLI, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("core")
    run_testbed(root / "world", resolution=10.0, years=YEARS, forcing_years=YEARS, progress=False)
    return root


def test_check_restart_forcing_spinup_and_refine_import_no_app_package(world: Path) -> None:
    early = world / "world" / f"elmai_testbed.elm.r.{YEARS + 1:04d}-01-01-00000.nc"
    forcing = next((world / "world").glob("*.datm.forcing.nc"))
    ran = {
        "check": elmai_without_apps("check", str(early), cwd=world),
        "restart info": elmai_without_apps("restart", "info", str(early), cwd=world),
        "forcing": elmai_without_apps("forcing", "climatology", str(forcing), "--out", "clim.nc", "--restart",
                                      str(early), "--no-progress", cwd=world),  # fmt: skip
        "spinup": elmai_without_apps("spinup", "--restart", str(early), "--out", "ai.elm.r.nc", "--force",
                                     cwd=world),  # fmt: skip
    }
    for what, done in ran.items():
        assert done.returncode == 0 and "must not import" not in done.stderr, f"{what}: {done.stderr[-2000:]}"
    assert "shipped" in ran["spinup"].stdout and (world / "ai.elm.r.nc").exists()
    # one forcing cycle from the AI restart (the testbed is an app: run here), then refine
    cycle = verify(world / "ai.elm.r.nc", YEARS, world / "cycle", progress=False)
    params = str(world / "world" / "clm_params.nc")
    refined = elmai_without_apps("refine", "--start", "ai.elm.r.nc", "--end", str(cycle.restarts[-1]),
                                 "--out", "refined.elm.r.nc", "--params", params, cwd=world)  # fmt: skip
    assert refined.returncode == 0, refined.stderr[-2000:]
    assert (world / "refined.elm.r.nc").exists() and "soil4" in refined.stdout


def test_help_loads_neither_the_compiled_core_nor_numpy() -> None:
    """`elmai --help` (and a mistyped command) answer without loading the compiled core,
    which links libtorch's shared libraries, or numpy: the names load on first use."""
    code = (
        "import sys\n"
        "from elmai.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('elmai._core', 'numpy', 'torch') if m in sys.modules]\n"
        "print('LOADED', loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout[-500:]


def test_check_loads_no_libtorch() -> None:
    """Reading and checking a restart go through the file layer (_core, libelmai_io), which
    links netcdf-c only: libtorch's shared libraries stay out of the process."""
    code = (
        "import elmai\n"
        f"report = elmai.check_restart({str(shared_data('elm', 'site_fullrun_docker_tr_demo_fini.nc'))!r})\n"
        "maps = open('/proc/self/maps').read()\n"
        "print('OK', report.ok, 'TORCH', 'libtorch' in maps or 'libc10' in maps)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "OK True TORCH False" in done.stdout, done.stdout[-500:]
