"""Code every InsureOps service shares: settings, database, messaging, auth, errors, observability, clock."""

import sys

# httpx imports its command line (click, rich and pygments: some 80 modules, 3 MB of every process) wherever those
# are installed, as the development tools install them. No service runs it: a None here makes that import fail, and
# httpx keeps its stub `main` instead.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
