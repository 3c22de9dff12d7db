"""`wit-pipeline browse`: prints its loopback URL, serves the page there, ends on Ctrl-C;
a bad port is a usage error."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from wit_pipeline.cli import main


def _interruptible() -> None:
    """Ctrl-C's default action in the child: a test run started in the background (`cmd &` in
    a script, as CI may start it) passes SIGINT on ignored, and Python then never raises
    KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_browse_serves_on_loopback_until_interrupted(browse_workspace, tmp_path):
    errors = tmp_path / "stderr.txt"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-X", "faulthandler", "-m", "wit_pipeline",
             "--workdir", str(browse_workspace.root), "browse", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_interruptible,
        )  # fmt: skip
    try:
        line = process.stdout.readline()
        url = line.split(" at ")[-1].strip()
        assert url.startswith("http://127.0.0.1:") and "samples of" in line
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200 and b"samples match" in answer.read()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            process.wait(timeout=30)
            code = None
    assert code == 130, f"exit {code}; stderr ends: {errors.read_text()[-4000:]}"
    assert "interrupted" in errors.read_text()


def test_a_bad_port_is_a_usage_error(capsys, browse_workspace):
    with pytest.raises(SystemExit) as stopped:
        main(["--workdir", str(browse_workspace.root), "browse", "--port", "70000"])
    assert stopped.value.code == 2 and "must be 0..65535" in capsys.readouterr().err
