"""open_clip's own training loader in a subprocess, with the webdataset release it pins.

open_clip_train (shipped in the open_clip_torch wheel) needs webdataset <= 0.2.86; the venv
holds the newer one img2dataset wants. The pinned release is pip-installed once (no
dependencies: braceexpand, numpy and pyyaml come from the venv) into an ignored cache folder and
put ahead of the venv's site-packages on the subprocess's PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from wit_pipeline.core.atomic import temp_name_for

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "open_clip_loader"
WEBDATASET_PIN = "webdataset==0.2.86"
EPOCH_SCRIPT = Path(__file__).with_name("open_clip_epoch.py")


def pinned_webdataset() -> Path:
    """The folder holding webdataset 0.2.86; installed from the package registry on first use,
    atomically, so a killed or concurrent install never leaves a half folder."""
    target = CACHE / WEBDATASET_PIN.replace("==", "-")
    if target.is_dir():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    temp = temp_name_for(target)
    try:
        install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        subprocess.run([*install, "--target", str(temp), WEBDATASET_PIN], check=True, timeout=300)
        temp.rename(target)
    except OSError:
        if not target.is_dir():
            raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def run_open_clip_loader(cli_args: list[str], out: Path) -> tuple[dict[str, Any], str]:
    """Run open_clip's loader over `cli_args` (its CLI options) in a subprocess with the pinned
    webdataset; the facts it wrote to `out` and its stderr."""
    paths = [str(pinned_webdataset()), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    result = subprocess.run(
        [sys.executable, str(EPOCH_SCRIPT), str(out), *cli_args],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    if result.returncode != 0:
        raise AssertionError(f"open_clip's loader exited {result.returncode}:\n{result.stderr}")
    return json.loads(out.read_text()), result.stderr
