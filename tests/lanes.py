"""Run the disruptive tests' lanes side by side: one pytest process per lane (tests/support.py,
LANES), each running its tests one at a time. Prints each lane's output once it is done, and
exits non-zero when any lane failed.

    python -m tests.lanes [extra pytest arguments, e.g. --durations=5 or @file]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import LANES

ROOT = Path(__file__).resolve().parents[1]


def main(extra: list[str]) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="calories-lanes-") as tmp:
        runs = {}
        for lane, marker in LANES.items():
            out = (Path(tmp) / f"{lane}.log").open("w")
            # No `tests` argument when the caller names what to run (an @file of node ids).
            where = [] if any(a.startswith("@") for a in extra) else ["tests"]
            cmd = [sys.executable, "-m", "pytest", *where, "-q", "-p", "no:cacheprovider",
                   "-m", f"disruptive and {marker}", *extra]
            runs[lane] = (subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT), out)
        failed = []
        for lane, (proc, out) in runs.items():
            code = proc.wait()
            out.close()
            print(f"---- lane {lane} ({LANES[lane]}): exit {code}")
            print((Path(tmp) / f"{lane}.log").read_text().rstrip())
            # 5: no test selected in this lane (an @file without any of its tests) is not a failure.
            if code not in (0, 5):
                failed.append(lane)
    verdict = f"; failed: {', '.join(failed)}" if failed else ""
    print(f"---- lanes done in {time.monotonic() - started:.1f} s{verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
