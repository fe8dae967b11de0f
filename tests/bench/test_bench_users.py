"""The users the benches create pass identity's password policy (a refused password failed `make bench` midway)."""

from __future__ import annotations

import pytest

import bench.console
import bench.notifications
from services.identity.passwords import PasswordPolicy
from services.identity.settings import IdentitySettings


@pytest.mark.parametrize(
    ("name", "email", "password"),
    [
        ("Bench Notifications", bench.notifications.BENCH_EMAIL, bench.notifications.BENCH_PASSWORD),
        ("Console Bench", bench.console.BENCH_EMAIL, bench.console.BENCH_PASSWORD),
    ],
)
async def test_a_bench_users_password_passes_the_policy(name, email, password):
    await PasswordPolicy.of(IdentitySettings()).check(password, user_inputs=[name, email])
