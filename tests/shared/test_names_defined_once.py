"""Topic names and stage keys are spelled once, next to their contracts (`shared/contracts`); everywhere else
code names them through the constants, so a typo is an import error rather than a silent miss.

Left out: Alembic revisions, which record the data as it was when they were written (a revision must not
change when a constant does), and the tests, which check the spelled names against the contracts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from shared.contracts import topics
from shared.contracts.pipeline import STAGE_KEYS

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("services", "shared", "devstack", "bench")
CONTRACTS = ROOT / "shared" / "contracts"
TOPIC = re.compile(topics.DOMAIN_TOPIC_PATTERN)


def sources() -> Iterator[Path]:
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if CONTRACTS in path.parents or "migrations" in path.parts:
                continue
            yield path


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """Every string constant in the module, the constant parts of f-strings included."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def where(path: Path, line: int, value: str) -> str:
    return f"{path.relative_to(ROOT)}:{line}: {value!r}"


def test_no_topic_name_is_spelled_outside_the_contracts():
    found = [
        where(path, line, value)
        for path in sources()
        for line, value in string_literals(path)
        if TOPIC.match(value) or value.startswith(topics.DEAD_LETTER_PREFIX)
    ]
    assert not found, "name these topics through shared.contracts.topics:\n" + "\n".join(found)


def test_no_stage_key_is_spelled_outside_the_contracts():
    keys = set(STAGE_KEYS)
    found = [where(path, line, value) for path in sources() for line, value in string_literals(path) if value in keys]
    assert not found, "name these stages through shared.contracts.pipeline's constants:\n" + "\n".join(found)


def test_the_scan_sees_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('A = "clients.client.events"\nB = f"deadletter.{A}"\nC = "needs_analysis"\n')
    values = {value for _, value in string_literals(sample)}
    assert {"clients.client.events", "deadletter.", "needs_analysis"} <= values
