"""`make fuzz`: fuzz every service's OpenAPI document through the HTTP entry as every role, then
print a table per service (operations, requests tried, failures) and each distinct failure.

    python -m tests.fuzz.run                          # CALORIES_FUZZ_EXAMPLES (default 2) per operation and mode
    python -m tests.fuzz.run --examples 200           # a long run
    python -m tests.fuzz.run --service orders --role user

Exit status 1 when anything failed, so it can gate a pipeline. Needs the stack (`make up`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("CALORIES_ENVIRONMENT", "development")

from tests.fuzz import harness  # the environment first: the chassis reads it on import


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=harness.examples_per_operation(),
                        help="examples per operation and generation mode (positive, negative)")
    parser.add_argument("--service", action="append", choices=harness.SERVICES, help="repeatable; default: all")
    parser.add_argument("--role", action="append", choices=harness.ROLES, help="repeatable; default: all")
    parser.add_argument("--verbose", action="store_true", help="print each operation as it starts")
    args = parser.parse_args(argv)
    services, roles = args.service or list(harness.SERVICES), args.role or list(harness.ROLES)

    started = time.monotonic()
    identities = harness.make_identities()
    runs: list[harness.ServiceRun] = []
    for service in services:
        for role in roles:
            run = harness.fuzz_service(service, identities[role], args.examples,
                                       progress=(lambda line: print(f"  {line}", flush=True)) if args.verbose else None)
            print(f"[fuzz] {service:16} as {role:10} {run.requests:6} requests, {len(run.failures)} failures",
                  flush=True)
            runs.append(run)

    print(f"\n{'service':16} {'operations':>10} {'requests':>9} {'failures':>9}")
    total_requests = total_failures = 0
    for service in services:
        mine = [r for r in runs if r.service == service]
        operations = max(r.operations for r in mine)  # an exclusion may hide one from some roles
        requests = sum(r.requests for r in mine)
        failures = sum(len(r.failures) for r in mine)
        total_requests, total_failures = total_requests + requests, total_failures + failures
        print(f"{service:16} {operations:>10} {requests:>9} {failures:>9}")
    print(f"{'total':16} {'':>10} {total_requests:>9} {total_failures:>9}")
    print(f"\n{args.examples} examples per operation and mode, roles {', '.join(roles)}; "
          f"{time.monotonic() - started:.0f} s")
    skipped = sorted({line for r in runs for line in r.skipped})
    if skipped:
        print("not fuzzed (tests/fuzz/harness.py EXCLUDED):\n  " + "\n  ".join(skipped))
    for run in runs:
        for failure in run.failures.values():
            print(f"\n{failure}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
