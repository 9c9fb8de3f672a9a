"""Deployment package sizes: each function's zip alone, and with the CommonLayer zip it needs.

The packages come from a real `sam build` into a temporary folder and are zipped as
`sam package` zips them (every file of the artifact folder, deflated), so the figures are
what Lambda receives.
"""

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from bench.figures import Figure
from bench.workspace import ROOT
from local.emulation import workflow

CODE_BOUND = 20_000  # bytes: 20 KB, decimal (the stricter reading)
WITH_DEPENDENCIES_BOUND = 1_500_000
LAYER = "CommonLayer"
BUILD_TIMEOUT_SECONDS = 600


def zipped_size(folder: Path) -> int:
    """Bytes of the folder's files zipped as `sam package` does (ZIP_DEFLATED, default level)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getbuffer().nbytes


def template_runtime() -> str:
    """The functions' runtime interpreter, e.g. `python3.13`, from template.yaml's Globals."""
    match = re.search(
        r"^\s+Runtime:\s*(python3\.\d+)\s*$", (ROOT / "template.yaml").read_text(), re.M
    )
    if match is None:
        raise RuntimeError("template.yaml names no python runtime")
    return match.group(1)


def build_environment(runtime: str) -> dict[str, str]:
    """The environment for `sam build`: it needs the runtime's interpreter on PATH.

    As the Makefile does for pyenv users, the newest installed version of that interpreter
    is added to the current selection when the shim alone does not resolve it.
    """
    environment = os.environ | {"SAM_CLI_TELEMETRY": "0"}
    if _runs(runtime, environment) or shutil.which("pyenv") is None:
        return environment
    version = runtime.removeprefix("python")
    installed = _pyenv("versions", "--bare").split()
    matching = sorted((v for v in installed if v.startswith(version + ".")), key=_version_key)
    if matching:
        current = os.environ.get("PYENV_VERSION") or _pyenv("version-name").strip()
        environment["PYENV_VERSION"] = f"{current}:{matching[-1]}"
    return environment


def _runs(command: str, environment: dict[str, str]) -> bool:
    executable = shutil.which(command, path=environment.get("PATH"))
    if executable is None:
        return False
    finished = subprocess.run([executable, "--version"], env=environment, capture_output=True)
    return finished.returncode == 0


def _pyenv(*args: str) -> str:
    pyenv = shutil.which("pyenv") or "pyenv"
    return subprocess.run([pyenv, *args], capture_output=True, text=True, check=True).stdout


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


def sam_build(build_dir: Path) -> None:
    """`sam build` of template.yaml into `build_dir`, leaving the project's `.aws-sam` alone."""
    beside_python = Path(sys.executable).with_name("sam")
    sam = str(beside_python) if beside_python.exists() else shutil.which("sam") or "sam"
    command = [sam, "build", "--build-dir", str(build_dir)]
    command += ["--cache-dir", str(build_dir.parent / "cache")]
    finished = subprocess.run(
        command,
        cwd=ROOT,
        env=build_environment(template_runtime()),
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    if finished.returncode != 0:
        last_lines = " | ".join((finished.stderr or finished.stdout).strip().splitlines()[-3:])
        raise RuntimeError(f"sam build failed: {last_lines}")


def function_name(logical_id: str) -> str:
    return logical_id.removesuffix("Function")


def format_size(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 1e6 else f"{size / 1e3:.1f} KB"


def package_figures(build_dir: Path) -> list[Figure]:
    """Two figures per function: its own zip, and its zip plus the layer's."""
    layer_size = zipped_size(build_dir / LAYER)
    figures = []
    for logical_id in workflow.FUNCTIONS:
        code = zipped_size(build_dir / logical_id)
        name = function_name(logical_id)
        figures += [
            Figure("package", f"{name} code", format_size(code), "<= 20 KB", code <= CODE_BOUND),
            Figure(
                "package",
                f"{name} with {LAYER}",
                format_size(code + layer_size),
                "<= 1.5 MB",
                code + layer_size <= WITH_DEPENDENCIES_BOUND,
            ),
        ]
    return figures


def measure(repeats: int) -> list[Figure]:
    """Build once and size every function's package (`repeats` does not apply: sizes are exact)."""
    with tempfile.TemporaryDirectory(prefix="bench-sam-") as scratch:
        build_dir = Path(scratch) / "build"
        sam_build(build_dir)
        return package_figures(build_dir)
