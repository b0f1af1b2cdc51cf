"""itsm.respawn, the wrapper of every Procfile process: a crashed command (kill -9) comes back, a stop
(SIGTERM to the wrapper, as honcho and systemd send) is passed on to the command and ends both, and a
command that finishes cleanly is not started again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Prints its pid, says so when told to stop, and otherwise waits.
SLEEPER = """
import os, signal, sys, time
def stop(signum, frame):
    print("stopping", os.getpid(), flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("started", os.getpid(), flush=True)
time.sleep(60)
"""


def respawn(*command: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "itsm.respawn", *command],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def next_line(process: subprocess.Popen, starting: str) -> str:
    """The next line of the command's output that starts with `starting` (the wait is bounded)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if line.startswith(starting):
            return line
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"no line starting {starting!r}; stderr: {process.stderr.read()}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_command_killed_with_sigkill_is_started_again_and_sigterm_stops_both():
    process = respawn(sys.executable, "-c", SLEEPER)
    try:
        first = int(next_line(process, "started").split()[1])
        os.kill(first, signal.SIGKILL)
        second = int(next_line(process, "started").split()[1])  # after the 1 s pause
        assert second != first

        process.send_signal(signal.SIGTERM)
        assert next_line(process, "stopping").split()[1] == str(second)  # passed on to the command
        assert process.wait(timeout=10) == 0
        assert "was killed by SIGKILL; starting it again in 1 s" in process.stderr.read()
        assert process.stdout.read() == ""  # not started a third time
        assert not alive(second)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def test_a_clean_exit_ends_it_and_a_failing_one_is_retried(tmp_path):
    runs = tmp_path / "runs"
    # Fails with status 3 the first time, then succeeds.
    flaky = (
        f"import pathlib, sys; runs = pathlib.Path({str(runs)!r}); count = len(runs.read_text()) if "
        "runs.exists() else 0; runs.write_text('x' * (count + 1)); sys.exit(3 if count == 0 else 0)"
    )
    process = respawn(sys.executable, "-c", flaky)
    assert process.wait(timeout=20) == 0
    assert runs.read_text() == "xx"
    assert "exited with status 3; starting it again in 1 s" in process.stderr.read()


def test_without_a_command_it_says_how_to_use_it():
    process = respawn()
    assert process.wait(timeout=10) == 2
    assert "usage: python -m itsm.respawn COMMAND" in process.stderr.read()
