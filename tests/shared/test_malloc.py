"""A service's C allocator gives back what password hashing borrowed (`shared.runner.tune_malloc`): argon2id takes
19 MiB a hash in a worker thread, and glibc's defaults kept tens of MiB of it resident for good."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shared.runner import _libc

pytestmark = pytest.mark.skipif(_libc() is None, reason="glibc's mallopt and malloc_trim are not available here")

# Hashes as identity's logins do (its hasher, on worker threads), then how much more anonymous memory is resident.
PROGRAM = textwrap.dedent(
    """
    import sys
    from concurrent.futures import ThreadPoolExecutor

    def resident_mb():
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("RssAnon")).split()[1]) // 1024

    if sys.argv[1] == "tuned":
        from shared.runner import tune_malloc

        tune_malloc()
    from services.identity.service import _hasher

    before = resident_mb()
    with ThreadPoolExecutor(2) as pool:
        for _ in range(6):
            list(pool.map(_hasher.hash, ["correct horse battery staple"] * 2))
    print(resident_mb() - before)
    """
)


def _kept_after_hashing(mode: str) -> int:
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=repo, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_hashing_keeps_nothing_resident_with_the_tuned_allocator():
    assert _kept_after_hashing("tuned") < 8


def test_the_allocators_defaults_keep_hashing_memory_resident():
    # The reason for the tuning: without it the same hashing leaves two hashes' memory resident or more.
    assert _kept_after_hashing("plain") >= 19
