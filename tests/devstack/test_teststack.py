"""The tests run on a platform of their own: they never write into one started with `make up`, reuse the test
stack that runs, start one from empty data (so data does not pile up over runs), and a failed seed leaves no stack
running for the next session to reuse. On a real supervisord (its services not started: nothing else is needed)."""

from __future__ import annotations

import re

import pytest

from devstack import teststack
from devstack.config import REPO_ROOT, StackSettings
from devstack.supervisor import Supervisor, write_config


def _start(cfg: StackSettings) -> None:
    sup = Supervisor(cfg)
    if not sup.running():
        sup.start_daemon(write_config(cfg, kafka=None, postgres=None))


@pytest.fixture
def cfg(tmp_path):
    cfg = StackSettings(run_dir=tmp_path / "run")
    yield cfg
    Supervisor(cfg).shutdown()


def test_a_platform_the_tests_did_not_start_is_refused_and_left_as_it_is(cfg):
    cfg.run_dir.mkdir()
    _start(cfg)  # as `make up` would: no mark
    (cfg.run_dir / "demo-data").write_text("a user's demo")
    with pytest.raises(teststack.NotTheTestsStack, match=r"a platform is running .* never write into a platform"):
        teststack.prepare(cfg)
    assert Supervisor(cfg).running() and (cfg.run_dir / "demo-data").exists()

    Supervisor(cfg).shutdown()  # stopped, its data still there: not wiped either
    with pytest.raises(teststack.NotTheTestsStack, match="a platform's data lies"):
        teststack.prepare(cfg)
    assert (cfg.run_dir / "demo-data").read_text() == "a user's demo"


def test_the_tests_stack_is_started_from_empty_data_then_reused_while_it_runs(cfg):
    sessions = []
    with teststack.session_stack(cfg, _start, lambda c: sessions.append("seeded")):
        (cfg.run_dir / "left-by-a-test").write_text("x")
        # A second session meanwhile reuses it as it is (no second seeding, nothing wiped, not stopped after).
        with teststack.session_stack(cfg, _start, lambda c: sessions.append("seeded again")):
            assert (cfg.run_dir / "left-by-a-test").exists()
        assert Supervisor(cfg).running()
    assert sessions == ["seeded"]
    assert not Supervisor(cfg).running()  # the session that started it stopped it

    assert teststack.prepare(cfg) is True  # the next start: its own mark, and nothing left from before
    assert sorted(p.name for p in cfg.run_dir.iterdir()) == [teststack.MARK]


def test_a_failed_seed_leaves_no_stack_that_the_next_session_would_reuse(cfg):
    def failing_seed(_):
        raise RuntimeError("the gateway answered 500")

    with pytest.raises(RuntimeError, match="answered 500"), teststack.session_stack(cfg, _start, failing_seed):
        pass
    assert not Supervisor(cfg).running()

    # Even one left running unseeded (a session killed while seeding) is started again, not reused.
    teststack.prepare(cfg)
    _start(cfg)
    seeded = []
    with teststack.session_stack(cfg, _start, seeded.append):
        assert seeded == [cfg] and (cfg.run_dir / teststack.SEEDED).exists()


def test_pytest_by_hand_uses_the_tests_folder_and_ports_as_make_test_does():
    env: dict[str, str] = {}
    teststack.use_defaults(env)
    assert env == teststack.DEFAULTS
    assert env["INSUREOPS_RUN_DIR"] == str(REPO_ROOT / ".run" / "test")
    given = {"INSUREOPS_RUN_DIR": "/elsewhere"}
    teststack.use_defaults(given)
    assert given == {"INSUREOPS_RUN_DIR": "/elsewhere"}  # a folder named: its ports are the caller's to give

    makefile = (REPO_ROOT / "Makefile").read_text()
    test_stack = re.search(r"^TEST_STACK \?= (.*?)\n\n", makefile, re.S | re.M)
    assert test_stack is not None
    named = dict(re.findall(r"(INSUREOPS_\w+)=(\S+)", test_stack.group(1)))
    assert named == {**teststack.DEFAULTS, "INSUREOPS_RUN_DIR": "$(CURDIR)/.run/test"}
