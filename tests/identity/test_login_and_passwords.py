"""Logins: one answer for every refusal, a growing wait per account after failures; the password policy."""

from __future__ import annotations

import uuid

import pytest

from services.identity import service
from services.identity.passwords import PasswordPolicy
from services.identity.schemas import UserCreate, UserUpdate
from services.identity.throttle import LoginThrottle, TooManyLogins
from shared.errors import InvalidInput, Unauthorized

pytestmark = pytest.mark.usefixtures("acting")

POLICY = PasswordPolicy(min_length=10, min_strength=3)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_past_the_free_ones_close_the_account_for_longer_each_time():
    clock = FakeClock()
    throttle = LoginThrottle(free=3, base=1.0, ceiling=8.0, monotonic=clock)
    for _ in range(3):
        throttle.check("a@x.com")
        throttle.failed("a@x.com")
    throttle.check("a@x.com")  # three free failures: still open
    waits = []
    for _ in range(5):
        throttle.failed("A@X.com ")  # the same account however typed
        with pytest.raises(TooManyLogins) as closed:
            throttle.check("a@x.com")
        assert closed.value.status == 429
        waits.append(int(closed.value.headers["Retry-After"]))
        clock.now += waits[-1]
        throttle.check("a@x.com")  # open again once the wait is over
    assert waits == [1, 2, 4, 8, 8]
    throttle.check("b@x.com")  # other accounts are not affected
    throttle.succeeded("a@x.com")
    throttle.failed("a@x.com")
    throttle.check("a@x.com")  # a success starts the count again


async def _user(session, *, active: bool = True, password: str = "plum-orchard-lantern") -> str:
    email = f"login-{uuid.uuid4().hex[:8]}@example.com"
    await service.create_user(
        session,
        UserCreate(name="Login Tester", email=email, password=password, role="Employee", active=active),
        passwords=POLICY,
    )
    return email


async def test_a_deactivated_account_gets_the_same_answer_whatever_the_password(session):
    email = await _user(session, active=False)
    throttle = LoginThrottle(free=100, base=1, ceiling=1)
    answers = []
    for password in ("plum-orchard-lantern", "wrong-password-here"):
        with pytest.raises(Unauthorized) as refused:
            await service.authenticate(session, email, password, throttle)
        answers.append(refused.value.detail)
    with pytest.raises(Unauthorized) as unknown:
        await service.authenticate(session, "nobody-" + email, "plum-orchard-lantern", throttle)
    assert answers[0] == answers[1] == unknown.value.detail == service.LOGIN_REFUSED


async def test_after_too_many_failures_even_the_right_password_waits(session):
    email = await _user(session)
    throttle = LoginThrottle(free=3, base=30, ceiling=60)
    for _ in range(4):
        with pytest.raises(Unauthorized):
            await service.authenticate(session, email, "wrong-password-here", throttle)
    with pytest.raises(TooManyLogins) as closed:
        await service.authenticate(session, email, "plum-orchard-lantern", throttle)
    assert int(closed.value.headers["Retry-After"]) == 30


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pw", "at least 10"),
        ("password12", "too weak"),
        ("qwertyuiop12", "too weak"),
        ("Password123!", "too weak"),
        ("logintester1", "too weak"),  # the user's own name
    ],
)
async def test_weak_passwords_are_refused_naming_the_field(session, password, why):
    with pytest.raises(InvalidInput) as refused:
        await _user(session, password=password)
    assert refused.value.errors[0]["field"] == "body.password"
    assert why in refused.value.errors[0]["message"]
    email = await _user(session)
    user_id = (await service.repo.get_user_by_email(session, email)).id
    with pytest.raises(InvalidInput) as on_change:
        await service.update_user(session, user_id, UserUpdate(password=password), passwords=POLICY)
    assert on_change.value.errors[0]["field"] == "body.password"


async def test_the_demo_and_test_passwords_follow_the_policy():
    from devstack.seed import DEMO_USERS

    for user in DEMO_USERS:
        await POLICY.check(user.password, user_inputs=[user.name, user.email])
    for password in ("authz-matrix-pass", "session-pass-123", "leaver-pass-123", "a-brand-new-pass"):
        await POLICY.check(password, user_inputs=["Someone Else", "someone@example.com"])
