"""`python -m devstack.faults [--rounds N] [--seed S] [--keep]`: see `devstack.faults`."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time

from devstack.config import REPO_ROOT

MARK = "started-by-faults"
# The matrix's own platform unless the environment names a run folder: apart from `make up` (8000, 19092/3, 15432)
# and `make test` (18100, 19292/3, 15632).
DEFAULTS = {
    "INSUREOPS_RUN_DIR": str(REPO_ROOT / ".run" / "faults"),
    "INSUREOPS_HTTP_PORT_BASE": "18400",
    "INSUREOPS_KAFKA_PORT": "19492",
    "INSUREOPS_KAFKA_CONTROLLER_PORT": "19493",
    "INSUREOPS_POSTGRES_PORT": "15832",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.faults", description=__doc__)
    parser.add_argument("--rounds", type=int, default=20, help="how many rounds (default 20; the bar is 200)")
    parser.add_argument("--seed", type=int, default=None, help="the schedule's and workload's seed (default: random)")
    parser.add_argument("--keep", action="store_true", help="leave the platform running at the end")
    parser.add_argument(
        "--minutes", type=float, default=None, help="start no round after this many minutes (then print the totals)"
    )
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    if "INSUREOPS_RUN_DIR" not in os.environ:
        for name, value in DEFAULTS.items():
            os.environ.setdefault(name, value)

    from devstack import teststack
    from devstack.cli import quiet_loggers, start
    from devstack.config import load
    from devstack.faults.runner import Report, run_rounds
    from devstack.seed import seed as seed_demo
    from devstack.supervisor import Supervisor

    cfg = load()
    print(f"fault matrix: {args.rounds} rounds, seed {seed}, platform in {cfg.run_dir} (gateway {cfg.gateway_url})")
    started = time.monotonic()
    until = None if args.minutes is None else started + args.minutes * 60
    report = Report(seed)
    interrupted = False
    try:
        with teststack.session_stack(cfg, lambda c: start(c), seed_demo, mark=MARK, keep=args.keep) as stack:
            print(f"platform ready in {time.monotonic() - started:.0f} s")
            with quiet_loggers("aiokafka", "faststream"):
                try:
                    asyncio.run(
                        run_rounds(stack, Supervisor(stack), rounds=args.rounds, seed=seed, until=until, report=report)
                    )
                except KeyboardInterrupt:
                    interrupted = True  # the totals of the rounds that finished, below
    except teststack.NotTheTestsStack as exc:
        print(str(exc).replace("the tests", "the fault matrix"), file=sys.stderr)
        return 4
    print()
    if interrupted:
        print("interrupted: the totals of the rounds that finished")
    print(report.totals())
    print(f"(again: python -m devstack.faults --rounds {args.rounds} --seed {seed})")
    return 0 if report.ok and not interrupted else 1


if __name__ == "__main__":
    sys.exit(main())
