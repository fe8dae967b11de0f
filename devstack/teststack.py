"""The test session's own platform: which one it may use, and a fresh start each time it starts one.

The rule: the tests write only into a stack the tests started. Such a stack's run folder holds the mark `MARK`,
written before the stack starts; a folder without it (the platform of `make up`, with a user's demo data) is never
started, wiped or written into by the tests. A running test stack is reused (one session after another, or several
at once); one the tests start is started from empty data, so data does not pile up over runs until the tests
break; and one whose seeding did not complete (no `SEEDED`) is stopped and started afresh rather than reused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator

from devstack.config import REPO_ROOT, StackSettings
from devstack.supervisor import Supervisor

MARK = "started-by-tests"
SEEDED = "seeded"

# Where `make test` runs its platform (the Makefile's TEST_STACK), and what `pytest` run by hand uses when the
# environment names no run folder: never `make up`'s folder and ports.
DEFAULTS = {
    "INSUREOPS_RUN_DIR": str(REPO_ROOT / ".run" / "test"),
    "INSUREOPS_HTTP_PORT_BASE": "18100",
    "INSUREOPS_KAFKA_PORT": "19292",
    "INSUREOPS_KAFKA_CONTROLLER_PORT": "19293",
    "INSUREOPS_POSTGRES_PORT": "15632",
}


class NotTheTestsStack(RuntimeError):
    """The run folder belongs to a platform the tests did not start."""


def use_defaults(environ: os._Environ[str] | dict[str, str] = os.environ) -> None:
    """Point the session at the tests' own folder and ports unless the environment names a run folder."""
    if "INSUREOPS_RUN_DIR" not in environ:
        for name, value in DEFAULTS.items():
            environ.setdefault(name, value)


def _refuse(cfg: StackSettings, what: str, mark: str = MARK) -> NotTheTestsStack:
    return NotTheTestsStack(
        f"{what} in {cfg.run_dir}, which the tests did not start (no {mark} there): the tests never write into a "
        "platform started with `make up`. Run them with `make test`, or give them a run folder and ports of their "
        "own (INSUREOPS_RUN_DIR, INSUREOPS_HTTP_PORT_BASE, INSUREOPS_KAFKA_PORT, INSUREOPS_KAFKA_CONTROLLER_PORT, "
        "INSUREOPS_POSTGRES_PORT)"
    )


def prepare(cfg: StackSettings, mark: str = MARK) -> bool:
    """Make the run folder ready for the session: True if the session is to start the stack (from empty data),
    False if it reuses the running test stack. Raises `NotTheTestsStack` for anyone else's folder. (`mark`: the
    fault matrix, `devstack.faults`, keeps a platform of its own under the same rule with a mark of its own.)"""
    sup = Supervisor(cfg)
    marked = (cfg.run_dir / mark).exists()
    if sup.running():
        if not marked:
            raise _refuse(cfg, "a platform is running", mark)
        if (cfg.run_dir / SEEDED).exists():
            return False
        sup.shutdown()  # started by a session that failed to seed it: start it again, cleanly
    elif cfg.run_dir.exists() and any(cfg.run_dir.iterdir()) and not marked:
        raise _refuse(cfg, "a platform's data lies", mark)
    if cfg.run_dir.exists():
        shutil.rmtree(cfg.run_dir)
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / mark).write_text(
        f"this platform was started by {mark[len('started-by-') :]}; its data is disposable\n"
    )
    return True


@contextlib.contextmanager
def session_stack(
    cfg: StackSettings,
    start: Callable[[StackSettings], object],
    seed: Callable[[StackSettings], object],
    mark: str = MARK,
    keep: bool = False,
) -> Iterator[StackSettings]:
    """The test session's platform for the length of the block: reused if the tests' stack runs, else started here
    (from empty data), seeded, and stopped afterwards (unless `keep`). If starting or seeding fails, the stack
    started here is stopped again (and never marked seeded), so no later session reuses a half-made platform."""
    started_here = prepare(cfg, mark)
    sup = Supervisor(cfg)
    try:
        start(cfg)
        if started_here:
            seed(cfg)
            (cfg.run_dir / SEEDED).touch()
    except BaseException:
        if started_here:
            sup.shutdown()
        raise
    try:
        yield cfg
    finally:
        if started_here and not keep:
            (cfg.run_dir / SEEDED).unlink(missing_ok=True)
            sup.shutdown()
