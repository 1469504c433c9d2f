"""Run by the fork server in tests/unit/test_forkserver.py: prints what a started app sees."""

import json
import os
import sys

print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "probe": os.environ.get("PROBE"),
                  "sid_is_pid": os.getsid(0) == os.getpid(), "name": __name__,
                  "preloaded": "sqlalchemy" in sys.modules}), flush=True)
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
