"""Keep one command running: `python -m itsm.respawn COMMAND [ARGS...]`.

honcho (the `Procfile`) stops every process as soon as one of them ends. Wrapped in this, the web server,
the worker and beat come back by themselves after a crash (`kill -9`, out of memory) instead, after a
pause that grows with repeated crashes (1 s, 2 s, 4 s ... up to 30 s; back to 1 s once the command has
run for a minute). A command that exits cleanly (status 0) is not restarted. SIGTERM or SIGINT (honcho
stopping, Ctrl-C, systemd) is passed on to the command, which is then waited for and not restarted.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

FIRST_PAUSE, LONGEST_PAUSE, STABLE_AFTER = 1.0, 30.0, 60.0


def _say(message: str) -> None:
    print(f"respawn: {message}", file=sys.stderr, flush=True)


def describe(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with status {returncode}"


def main(argv: list[str]) -> int:
    if not argv:
        _say("usage: python -m itsm.respawn COMMAND [ARGS...]")
        return 2
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    pause = FIRST_PAUSE
    while True:
        started = time.monotonic()
        child = subprocess.Popen(argv)
        if stopping:  # the signal came while it was being started, before `child` named it
            child.send_signal(signal.SIGTERM)
        returncode = child.wait()
        if stopping or returncode == 0:
            return 0 if stopping else returncode
        if time.monotonic() - started >= STABLE_AFTER:
            pause = FIRST_PAUSE
        _say(f"{argv[0]} {describe(returncode)}; starting it again in {pause:g} s")
        deadline = time.monotonic() + pause
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return 0
        pause = min(pause * 2, LONGEST_PAUSE)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
