"""What a service process loads: not the command-line tools the development environment installs beside it."""

from __future__ import annotations

import subprocess
import sys


def test_httpx_comes_without_its_command_line():
    probe = (
        "import sys, shared, httpx; "
        "print(sorted(m for m in ('click', 'rich', 'pygments') if m in sys.modules)); "
        "print(httpx.AsyncClient.__name__)"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["[]", "AsyncClient"], loaded.stdout
    # They are installed here (the development tools need them): what keeps them out is shared's rule, not their absence.
    installed = subprocess.run(
        [sys.executable, "-c", "import httpx, sys; print('rich' in sys.modules)"], capture_output=True, text=True
    )
    assert installed.stdout.strip() == "True", installed.stdout
