"""The platform at rest: `python -m bench.idle [--seconds 60] [--settle 20]`.

On the running stack (started and seeded if needed), after `--settle` seconds with nothing asked of it, the CPU
time every process spends (user + system, its children included: PostgreSQL's backends, the Kafka JVM's threads)
is read from /proc over `--seconds`, and printed per process as a share of one core, with the whole stack's sum
against the issue's aim: at rest, the whole stack within 5 % of one core. Only this stack's processes are
counted, so another program busy on the machine changes the figure little (it may slow a process, not add to
its CPU time). Figures go to `.run/bench/idle.json`.
"""

from __future__ import annotations

import argparse
import sys
import time

from bench import memory
from bench.common import stack_up, write_report
from devstack.config import load

AIM_PERCENT_OF_A_CORE = 5.0


def measure(sup, seconds: float) -> dict[str, float]:
    """Each process's CPU over `seconds`, as percent of one core."""
    before = memory.cpu_seconds(sup)
    time.sleep(seconds)
    after = memory.cpu_seconds(sup)
    return {name: round((after[name] - before.get(name, 0.0)) / seconds * 100, 2) for name in after if name != "bench"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to measure (default 60)")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds of rest before measuring (default 20)")
    args = parser.parse_args(argv)
    cfg = load()
    sup = stack_up(cfg)
    print(f"resting {args.settle:g} s, then measuring {args.seconds:g} s ...", flush=True)
    time.sleep(args.settle)
    shares = measure(sup, args.seconds)
    total = round(sum(shares.values()), 2)
    width = max(len(n) for n in shares)
    for name, pct in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<{width}}  {pct:6.2f} % of a core")
    within = total <= AIM_PERCENT_OF_A_CORE
    print(
        f"  {'whole stack':<{width}}  {total:6.2f} % of a core   aim <= {AIM_PERCENT_OF_A_CORE:g} %   "
        + ("ok" if within else "MISSED")
    )
    write_report(
        {
            "seconds": args.seconds,
            "settle_seconds": args.settle,
            "percent_of_a_core": shares,
            "total_percent_of_a_core": total,
            "aim_percent_of_a_core": AIM_PERCENT_OF_A_CORE,
            "within_aim": within,
        },
        cfg.run_dir / "bench" / "idle.json",
    )
    return 0  # a missed aim is a figure, not a failure (MISSED above)


if __name__ == "__main__":
    sys.exit(main())
