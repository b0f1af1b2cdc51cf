"""Progress on the terminal for the CSV commands (silent when stderr is not a terminal: logs, tests)."""

import sys


def row_progress(desc: str):
    from tqdm import tqdm

    return tqdm(desc=desc, unit=" rows", file=sys.stderr, disable=None, leave=False)


class CountedWriter:
    """A file that ticks the progress bar at every CSV row written to it."""

    def __init__(self, stream, bar):
        self.stream, self.bar = stream, bar

    def write(self, text: str) -> int:
        self.bar.update(1)
        return self.stream.write(text)


def ticking(lines, bar):
    """A file's lines, ticking the progress bar as they are read."""
    for line in lines:
        bar.update(1)
        yield line
