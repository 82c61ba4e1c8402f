"""Every check a person or CI runs, one nox session each.

    uv run nox                          # default: lint, typecheck, tests, apps, cuda, wheels
    uv run nox -l                       # list the sessions
    uv run nox -s tests -- dof-smooth   # one package's tests (more names or pytest args may follow)
    uv run nox -s "tests(dof-smooth)"   # the same, by session name
    uv run nox -s bench                 # benchmarks -> bench/results/*.json (not in the default)
    uv run nox -s seg-parity            # selfie masks against mediapipe itself (not in the default)

Each package is tested in an environment holding only that package, its declared dependencies
and its test group (`uv sync --package`), so an import that its pyproject does not declare fails.
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.reuse_venv = "yes"
nox.options.error_on_external_run = True
nox.options.sessions = ["lint", "typecheck", "tests", "apps", "cuda", "wheels"]

ROOT = Path(__file__).parent
PACKAGES = ["dof-io", "dof-data", "dof-seg", "dof-smooth", "dof-gan", "dof-eval"]
APPS = ["dof-cli", "dof-studio"]


def _sync(session: nox.Session, *args: str) -> None:
    """Install workspace members from uv.lock into this session's environment."""
    env = {"UV_PROJECT_ENVIRONMENT": str(session.virtualenv.location)}
    session.run_install("uv", "sync", "--locked", "--no-default-groups", *args, env=env)


def _split_posargs(posargs: list[str]) -> tuple[set[str], list[str]]:
    names = {arg for arg in posargs if arg in PACKAGES}
    return names, [arg for arg in posargs if arg not in names]


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole workspace (ruff as locked)."""
    _sync(session, "--only-group", "dev")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over every package and the app (settings in the root pyproject)."""
    _sync(session, "--all-packages", "--group", "dev")
    sources = [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("packages/*/src"))]
    sources += [str(p.relative_to(ROOT)) for p in sorted(ROOT.glob("apps/*/src"))]
    session.run("mypy", *sources)


@nox.session
@nox.parametrize("package", PACKAGES, ids=PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """One package's tests in an environment of its own (CUDA tests run in `cuda`)."""
    wanted, pytest_args = _split_posargs(session.posargs)
    if wanted and package not in wanted:
        session.skip(f"{package} not selected (selected: {', '.join(sorted(wanted))})")
    _sync(session, "--package", package, "--group", "test")
    session.run("pytest", f"packages/{package}/tests", "-m", "not cuda", *pytest_args)


@nox.session
@nox.parametrize("app", APPS, ids=APPS)
def apps(session: nox.Session, app: str) -> None:
    """Each app's tests, in an environment of its own with the packages as a user would have
    them (dof-cli without dof-studio's web stack; dof-studio's page in headless chromium)."""
    _sync(session, "--package", app, "--group", "test")
    session.run("pytest", f"apps/{app}/tests", "-m", "not cuda", *session.posargs)


@nox.session
def cuda(session: nox.Session) -> None:
    """Every test marked `cuda`; where no GPU is visible it says so and passes."""
    _sync(session, "--all-packages", "--all-groups")
    probe = "import torch; print(torch.cuda.is_available())"
    if "True" not in str(session.run("python", "-c", probe, silent=True)):
        session.log("no CUDA GPU visible (torch.cuda.is_available() is false): cuda tests not run")
        return
    session.run("pytest", "-m", "cuda", "packages", "apps", *session.posargs, success_codes=[0, 5])


@nox.session
def wheels(session: nox.Session) -> None:
    """Build one wheel per member; dof-cli's does not pull dof-studio's web stack; install the
    dof-smooth wheel alone and use it."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("uv", "build", "--all-packages", "--wheel", "-o", str(dist), external=True)
    built = sorted(p.name for p in dist.glob("*.whl"))
    session.log(f"{len(built)} wheels: {', '.join(built)}")
    if len(built) < len(PACKAGES) + len(APPS):
        expected = len(PACKAGES) + len(APPS)
        session.error(f"expected a wheel per member ({expected}); got {len(built)}")
    (cli,) = dist.glob("dof_cli-*.whl")
    with zipfile.ZipFile(cli) as wheel:
        meta = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
        lines = wheel.read(meta).decode().splitlines()
    requires = [line for line in lines if line.startswith("Requires-Dist:")]
    web = [line for line in requires if re.search(r"fastapi|uvicorn|starlette|dof-studio", line)]
    if web:
        session.error(f"the dof-cli wheel must not pull the web stack: {web}")
    (smooth,) = dist.glob("dof_smooth-*.whl")
    session.install(str(smooth))
    session.run(
        "python",
        "-c",
        "import dof_smooth, torch; "
        "x = torch.rand(1, 3, 32, 32); m = torch.zeros(1, 1, 32, 32); "
        "y = dof_smooth.portrait_blur(x, m, method='gaussian'); "
        "assert y.shape == x.shape; print('dof_smooth wheel works on its own')",
    )
    session.run(
        "python",
        "-c",
        "import importlib.util as u, sys; "
        "bad = [m for m in ('dof_io', 'dof_seg', 'dof_gan', 'PIL') if u.find_spec(m)]; "
        "sys.exit(f'dof-smooth pulled in {bad}' if bad else 0)",
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmark scripts; each writes JSON under bench/results/."""
    _sync(session, "--all-packages", "--all-groups")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    scripts = sorted((ROOT / "bench").glob("bench_*.py"))
    selected = set(session.posargs)
    for script in scripts:
        if selected and script.stem.removeprefix("bench_") not in selected:
            continue
        session.run("python", str(script), "--out", str(results), env={"PYTHONUNBUFFERED": "1"})


@nox.session(name="seg-parity")
def seg_parity(session: nox.Session) -> None:
    """Our `selfie` backend against mediapipe==0.10.21 itself, and the pose detector and pose
    landmark ports against the TFLite runtime (ai-edge-litert), in an environment of its own.

    Checks every coco-person photo to a mean absolute difference <= 0.01, prints both IoUs and
    both speeds, and writes them to bench/results/seg_mediapipe.json. mediapipe needs numpy<2,
    so everything else is pinned to the versions in uv.lock except numpy.
    """
    export = ["uv", "export", "--frozen", "--no-hashes", "--no-emit-workspace", "--no-dev"]
    locked = session.run(*export, "--package", "dof-seg", silent=True, external=True)
    skip = ("#", " ", "numpy")
    pins = [line for line in str(locked).splitlines() if line and not line.startswith(skip)]
    constraints = Path(session.create_tmp()) / "seg-parity-constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    editable = ["-e", "packages/dof-io", "-e", "packages/dof-seg"]
    runtimes = ["mediapipe==0.10.21", "ai-edge-litert==2.3.0", "numpy<2"]
    session.install("-c", str(constraints), *runtimes, *editable)
    data = Path(os.environ.get("DOF_SHARED_DATA", ROOT.parent / "shared" / "data"))
    out = ROOT / "bench" / "results" / "seg_mediapipe.json"
    parity = ["python", "-m", "dof_seg.parity", str(data / "coco-person"), "--out", str(out)]
    session.run(*parity, *session.posargs)
