"""Every `elmai` subcommand given bad input stops with one line, `elmai: error: ...`, that
names the file, key or option, exit status 2 for usage errors (bad or missing arguments,
unknown or mistyped config keys, missing input files) and 1 for files elmai cannot use,
and never a traceback. The commands run as a user runs them (.venv/bin/elmai), a few at a
time."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from elmai import config_file
from elmai.cli import COMMAND_GROUPS, MOVED, build_parser
from elmai.errors import ConfigError, OutputExistsError

ELMAI = str(Path(sys.executable).with_name("elmai"))
USAGE, FAILURE = 2, 1

TRAIN_OK = {"dataset": "missing_dataset.nc", "out": "run"}
TS_DATA = {
    "source": "camels",
    "root": "camels",
    "basins": ["01022500"],
    "inputs": ["prcp"],
    "train": ["2000-01-01", "2001-12-31"],
    "test": ["2002-01-01", "2002-12-31"],
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of bad inputs: an empty .nc/.pt, a folder named like a file, bad YAMLs."""
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.nc").touch()
    (d / "empty.pt").touch()
    (d / "folder.nc").mkdir()
    (d / "text.nc").write_text("not NetCDF\n")
    (d / "empty.yaml").touch()
    files = {
        "unknown.yaml": TRAIN_OK | {"epochz": 3},
        "wrongtype.yaml": TRAIN_OK | {"epochs": "ten"},
        "badchoice.yaml": TRAIN_OK | {"split": "spatial"},
        "nodataset.yaml": TRAIN_OK,
        "ts_unknown.yaml": {"data": TS_DATA, "modle": {"type": "lstm"}},
        "ts_wrongtype.yaml": {"data": TS_DATA, "training": {"epochs": "many"}},
        "ts_nested.yaml": {"data": TS_DATA | {"basin": ["x"]}},
    }
    for name, content in files.items():
        (d / name).write_text(yaml.safe_dump(content))
    (d / "broken.yaml").write_text("dataset: [unclosed\n")
    return d


# (arguments, exit status, text the one line must hold); paths are relative to `bad`
CASES = [
    ([], USAGE, "required: COMMAND"),
    (["frobnicate"], USAGE, "'frobnicate'"),
    (["restart", "info", "missing.nc"], USAGE, "missing.nc"),
    (["restart", "info", "empty.nc"], FAILURE, "empty.nc"),
    (["restart", "info", "folder.nc"], USAGE, "folder.nc"),
    (["restart", "diff", "text.nc", "missing.nc"], FAILURE, "text.nc"),
    (["check", "missing.nc"], USAGE, "missing.nc"),
    (["check", "empty.nc"], FAILURE, "empty.nc"),
    (["check", "folder.nc"], USAGE, "folder.nc"),
    (["check", "empty.nc", "--tolerance", "abc"], USAGE, "--tolerance"),
    (["check", "empty.nc", "--params", "missing_params.nc"], USAGE, "missing_params.nc"),
    (["testbed", "run", "--out", "tb", "--resolution", "7"], USAGE, "resolution"),
    (["testbed", "run", "--out", "tb", "--restart", "missing.nc"], USAGE, "missing.nc"),
    (["testbed", "verify", "missing.nc", "--out", "tv"], USAGE, "missing.nc"),
    (["testbed", "ensemble", "--param-list", "missing.txt", "--n", "2", "--out", "e"], USAGE, "missing.txt"),
    (["testbed", "ensemble", "--param-list", "folder.nc", "--n", "2", "--out", "e"], USAGE, "folder.nc"),
    (["testbed", "ensemble", "--param-list", "p.txt", "--n", "two", "--out", "e"], USAGE, "--n"),
    (["dataset", "build", "--run", "missing_run", "--out", "ds.nc"], USAGE, "missing_run"),
    (["dataset", "build", "--out", "ds.nc"], USAGE, "--run"),
    (["train", "--config", "missing.yaml"], USAGE, "missing.yaml"),
    (["train", "--config", "folder.nc"], USAGE, "folder.nc"),
    (["train", "--config", "empty.yaml"], USAGE, "dataset"),
    (["train", "--config", "broken.yaml"], USAGE, "broken.yaml"),
    (["train", "--config", "unknown.yaml"], USAGE, "'epochz'"),
    (["train", "--config", "wrongtype.yaml"], USAGE, "epochs must be an integer"),
    (["train", "--config", "badchoice.yaml"], USAGE, "split must be one of random, block"),
    (["train", "--config", "nodataset.yaml"], USAGE, "missing_dataset.nc"),
    (["train", "--config", "nodataset.yaml", "--epochs", "x"], USAGE, "--epochs"),
    (["evaluate", "--model", "missing.pt", "--dataset", "empty.nc"], USAGE, "missing.pt"),
    (["evaluate", "--model", "empty.pt", "--dataset", "empty.nc"], FAILURE, "empty.pt"),
    (["export", "--model", "missing.pt", "--out", "m.pt"], USAGE, "missing.pt"),
    (["export", "--model", "empty.pt", "--out", "m.pt"], FAILURE, "empty.pt"),
    (
        ["spinup", "--restart", "missing.nc", "--model", "m.pt", "--out", "ai.nc"],
        USAGE,
        "--restart 'missing.nc'",
    ),
    (["refine", "--start", "missing.nc", "--end", "missing.nc", "--out", "r.nc"], USAGE, "missing.nc"),
    (["refine", "--start", "empty.nc", "--end", "empty.nc", "--out", "r.nc"], FAILURE, "empty.nc"),
    (["uq", "emulate", "train", "--ensemble", "missing.nc", "--out", "em"], USAGE, "missing.nc"),
    (["uq", "emulate", "train", "--ensemble", "empty.nc", "--out", "em"], FAILURE, "empty.nc"),
    (["uq", "emulate", "sobol", "--emulator", "missing.pt", "--out", "so"], USAGE, "missing.pt"),
    (["uq", "emulate", "sobol", "--emulator", "empty.pt", "--out", "so"], FAILURE, "empty.pt"),
    (["uq", "emulate", "ozark", "--data", "missing_dir", "--out", "oz.nc"], USAGE, "missing_dir"),
    (
        ["uq", "intervals", "--model", "missing.pt", "--dataset", "missing.nc", "--out", "iv"],
        USAGE,
        "missing.pt",
    ),
    (
        ["uq", "calibrate", "--emulator", "missing.pt", "--obs", "o.npy", "--sigma", "1", "--out", "c"],
        USAGE,
        "missing.pt",
    ),
    (["uq", "calibrate", "--emulator", "missing.pt", "--obs", "o.npy", "--out", "c"], USAGE, "--sigma"),
    (["timeseries", "train", "--config", "missing.yaml"], USAGE, "missing.yaml"),
    (["timeseries", "train", "--config", "empty.yaml"], USAGE, "missing data"),
    (["timeseries", "train", "--config", "ts_unknown.yaml"], USAGE, "'modle'"),
    (["timeseries", "train", "--config", "ts_wrongtype.yaml"], USAGE, "training.epochs must be an integer"),
    (["timeseries", "train", "--config", "ts_nested.yaml"], USAGE, "'data.basin'"),
    (
        ["explain", "spinup", "--model", "missing.pt", "--dataset", "missing.nc", "--out", "x"],
        USAGE,
        "missing.pt",
    ),
    (["explain", "timeseries", "--run", "missing_run", "--out", "x"], USAGE, "missing_run"),
    (
        ["forcing", "climatology", "missing.nc", "--out", "f.nc", "--lat", "1", "--lon", "2"],
        USAGE,
        "missing.nc",
    ),
    (
        ["forcing", "climatology", "empty.nc", "--out", "f.nc", "--lat", "1", "--lon", "2"],
        FAILURE,
        "empty.nc",
    ),
    (["transfer", "--out", "t", "--model", "missing.pt"], USAGE, "missing.pt"),
    (["transfer", "--out", "t", "--settings", "zero_shot_2deg"], USAGE, "zero_shot_2deg"),
    (["pretrained", "show", "--folder", "missing_dir"], USAGE, "missing_dir"),
    (["pretrained", "build", "--epochs", "x"], USAGE, "--epochs"),
    (["elm", "case", "--world", "missing_run", "--sites", "2", "--out", "ec"], USAGE, "missing_run"),
    (["elm", "build", "--e3sm", "missing_dir", "--out", "eb"], USAGE, "missing_dir"),
    (["elm", "run", "missing_case", "--years", "1"], USAGE, "missing_case"),
    (["elm", "ensemble", "plan", "ep", "--world", "missing_world"], USAGE, "missing_world"),
    (["elm", "ensemble", "run", "missing_ens"], USAGE, "missing_ens"),
    (["elm", "ensemble", "status", "missing_ens"], USAGE, "missing_ens"),
    (["elm", "ensemble", "report", "missing_ens"], USAGE, "missing_ens"),
    (["elm", "ensemble", "pack", "missing_ens", "--to", "packed"], USAGE, "missing_ens"),
    (["elm", "ensemble", "unpack", "missing_pack", "ens_u"], USAGE, "missing_pack"),
    (["elm", "ensemble", "retry", "missing_ens"], USAGE, "missing_ens"),
    (["hydrology", "info", "--netcdf", "missing.nc"], USAGE, "missing.nc"),
    (["hydrology", "train", "--config", "missing.yaml"], USAGE, "missing.yaml"),
    (["hydrology", "bench", "--configuration", "huge"], USAGE, "--configuration"),
    *((["foundation", c, "--config", "missing.yaml"], USAGE, "missing.yaml")
      for c in ("build-corpus", "pretrain", "finetune", "evaluate")),
]


def _subcommands() -> set[str]:
    """Every leaf subcommand `elmai --help` lists, as 'group command' or 'command'."""
    import argparse

    found = set()

    def walk(parser: argparse.ArgumentParser, prefix: tuple[str, ...]) -> None:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            found.add(" ".join(prefix))
        for action in subs:
            for name, child in action.choices.items():
                if not (prefix == () and name in MOVED):  # old names of moved verbs: tested below
                    walk(child, (*prefix, name))

    walk(build_parser(), ())
    return found


def _leaf(args: list[str]) -> str:
    commands = _subcommands()
    for n in (3, 2, 1):
        if " ".join(args[:n]) in commands:
            return " ".join(args[:n])
    return ""


def test_every_subcommand_has_a_bad_input_case() -> None:
    covered = {_leaf(args) for args, _, _ in CASES}
    assert _subcommands() - covered == set()


def test_bad_input_gives_one_line_and_the_right_exit_status(bad: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ELMAI_DEBUG"}

    def run(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ELMAI, *args], cwd=bad, env=env, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, [args for args, _, _ in CASES]))
    problems = []
    for (args, status, text), done in zip(CASES, results, strict=True):
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("elmai: error:")]
        if (
            done.returncode != status
            or "Traceback" in done.stderr
            or "internal error" in done.stderr
            or len(errors) != 1
            or text not in errors[0]
        ):
            problems.append(
                f"elmai {' '.join(args)} -> {done.returncode} (want {status}, '{text}'): {done.stderr}"
            )
    assert not problems, "\n".join(problems)


def test_help_groups_the_commands_and_moved_verbs_still_work(bad: Path) -> None:
    """The product's verbs come first in the help, the apps under their groups; an old
    top-level verb that moved into a group runs as before, with a one-line note."""
    done = subprocess.run([ELMAI, "--help"], capture_output=True, text=True, timeout=120)
    titles = [f"{title}:" for title, _ in COMMAND_GROUPS]
    positions = [done.stdout.index(t) for t in titles]
    assert done.returncode == 0 and positions == sorted(positions)
    assert done.stdout.index("  spinup ") < done.stdout.index("  uq ") and "\n  emulate  " not in done.stdout
    for old, new in MOVED.items():
        bad_call = [old, "ozark", "--data", "missing_dir", "--out", "o.nc"]
        args = bad_call if old == "emulate" else [old, "--help"]
        moved = subprocess.run([ELMAI, *args], cwd=bad, capture_output=True, text=True, timeout=120)
        if old == "emulate":  # the old name reaches the same command and its one-line error
            assert moved.returncode == USAGE and "missing_dir" in moved.stderr
            assert f"`elmai {old}` is now `elmai {new}`" in moved.stderr
        else:
            assert moved.returncode == 0 and "usage: elmai " + old in moved.stdout


def test_elmai_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [ELMAI, "check", str(tmp_path / "missing.nc")],
        env=os.environ | {"ELMAI_DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Traceback" in done.stderr and "missing.nc" in done.stderr


def test_version_is_the_package_version() -> None:
    import elmai

    done = subprocess.run([ELMAI, "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"elmai {elmai.__version__}"


def test_an_output_folder_of_another_run_is_refused(tmp_path: Path) -> None:
    cfg = {"epochs": 3, "lr": 0.001}
    record = config_file.prepare_output(tmp_path / "run", cfg, kind="train")
    written = config_file.write_resolved(tmp_path / "run", record)
    saved = yaml.safe_load(written.read_text())
    assert saved["config"] == cfg and {"elmai", "torch"} <= set(saved["versions"]) and saved["command"]
    config_file.prepare_output(tmp_path / "run", cfg, kind="train")  # the same run: resume/overwrite
    with pytest.raises(OutputExistsError, match="lr was 0.001, now 0.01") as e:
        config_file.prepare_output(tmp_path / "run", cfg | {"lr": 0.01}, kind="train")
    assert "--overwrite" in str(e.value) and str(tmp_path / "run") in str(e.value)
    config_file.prepare_output(tmp_path / "run", cfg | {"lr": 0.01}, kind="train", overwrite=True)
    config_file.prepare_output(tmp_path / "run", cfg | {"epochs": 5}, kind="train", ignore=("epochs",))
    with pytest.raises(OutputExistsError, match="'train' run"):
        config_file.prepare_output(tmp_path / "run", cfg, kind="timeseries train")


def test_train_config_is_strict_and_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    from elmai.training.config import TrainConfig

    sub = tmp_path / "configs"
    sub.mkdir()
    f = sub / "c.yaml"
    f.write_text("dataset: ../data/ds.nc\nout: run\nlr: 1\nepochs: 2\n")
    cfg = TrainConfig.from_yaml(f)
    assert cfg.dataset == str(tmp_path / "data" / "ds.nc") and cfg.out == str(sub / "run")
    assert cfg.lr == 1.0 and isinstance(cfg.lr, float)  # an int where a number is expected
    f.write_text("dataset: d.nc\nout: run\nthreads: true\n")
    with pytest.raises(ConfigError, match="threads must be an integer, not bool"):
        TrainConfig.from_yaml(f)
    for shipped in sorted((Path(__file__).resolve().parents[1] / "configs").glob("spinup_*.yaml")):
        TrainConfig.from_yaml(shipped)


def test_mpi_launch_without_mpi4py_stops_with_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from elmai import mpi
    from elmai.errors import RunError

    for name in mpi.SIZE_VARIABLES + ("PMIX_RANK",):
        monkeypatch.delenv(name, raising=False)
    assert mpi.launcher_size() == 1
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` now fails
    assert mpi.world_comm() is None  # no launcher: one process, no MPI needed
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "1")
    assert mpi.world_comm() is None
    for name, value, size in (("OMPI_COMM_WORLD_SIZE", "4", 4), ("PMI_SIZE", "2", 2), ("PMIX_RANK", "2", 3)):
        monkeypatch.delenv("OMPI_COMM_WORLD_SIZE", raising=False)
        monkeypatch.delenv("PMI_SIZE", raising=False)
        monkeypatch.delenv("PMIX_RANK", raising=False)
        monkeypatch.setenv(name, value)
        assert mpi.launcher_size() == size
        with pytest.raises(RunError, match=f"MPI launcher with {size} ranks but mpi4py"):
            mpi.world_comm()
    monkeypatch.setattr(mpi.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RunError, match="elmai\\[mpi\\]"):
        mpi.check_launch()
