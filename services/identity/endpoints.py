"""Identity's HTTP API: tokens, JWKS, departments and users. Thin: rules live in service.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Query, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from services.identity import repository as repo
from services.identity import service, sessions
from services.identity.passwords import PasswordPolicy
from services.identity.schemas import (
    DepartmentCreate,
    DepartmentOut,
    DepartmentUpdate,
    PersonOut,
    Role,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from shared.auth import Principal
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Caller, Session, problems
from shared.errors import NotFound
from shared.pagination import Page, PageParams, page_params

PROBLEMS = problems()

router = APIRouter(route_class=TransactionalRoute, responses={401: PROBLEMS[401], 422: PROBLEMS[422]})


# Tokens ---------------------------------------------------------------------------------------------
REFRESH_COOKIE = "insureops_refresh"
REFRESH_PATH = "/api/v1/auth/refresh"
RefreshCookie = Annotated[str | None, Cookie(alias=REFRESH_COOKIE, include_in_schema=False)]


def _set_refresh_cookie(request: Request, response: Response, issued: sessions.IssuedRefreshToken) -> None:
    """The refresh token travels only as an httpOnly, SameSite=Strict cookie sent to the refresh path alone:
    page scripts cannot read it and no other request carries it."""
    settings = request.app.state.settings
    response.set_cookie(
        REFRESH_COOKIE,
        issued.value,
        max_age=settings.refresh_token_ttl_seconds,
        path=REFRESH_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.refresh_cookie_secure,
    )
    response.headers["Cache-Control"] = "no-store"


def _access_token(request: Request, user) -> TokenOut:
    settings = request.app.state.settings
    token = request.app.state.key_ring.issue(
        user, issuer=settings.jwt_issuer, audience=settings.jwt_audience, ttl_seconds=settings.access_token_ttl_seconds
    )
    return TokenOut(access_token=token, expires_in=settings.access_token_ttl_seconds)


@router.post(
    "/api/v1/auth/token",
    response_model=TokenOut,
    tags=["auth"],
    summary="Log in: exchange email and password for an access token (OAuth2 password form)",
    description="Also starts a login session: the answer sets the `insureops_refresh` cookie (httpOnly, "
    "SameSite=Strict, sent only to `/api/v1/auth/refresh`), with which "
    "`POST /api/v1/auth/refresh` issues fresh access tokens for a working day. A refused login is 401 with one "
    "answer whatever was wrong (unknown email, wrong password, deactivated account). After a few failures an "
    "account is closed for a while, longer with each further failure: 429 with `Retry-After`, the password "
    "not checked.",
    responses={
        429: {"description": "Too many failed logins for this account: wait `Retry-After` seconds (problem+json)"}
    },
)
async def issue_token(
    request: Request, response: Response, session: Session, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> TokenOut:
    user = await service.authenticate(session, form.username, form.password, request.app.state.login_throttle)
    _set_refresh_cookie(request, response, await sessions.start_session(session, user, request.app.state.settings))
    return _access_token(request, user)


@router.post(
    REFRESH_PATH,
    response_model=TokenOut,
    tags=["auth"],
    summary="A fresh access token from the login session's cookie; the cookie is rotated",
    description="Uses up the `insureops_refresh` cookie and sets the session's next one. 401 when there is "
    "no session, it expired or was revoked (logout, deactivation, a role, department or "
    "password change), or a used-up token is presented again (which ends the session). 409 "
    "when the token was used up a moment ago (another tab refreshing at the same time): retry, "
    "and the cookie that tab received is sent.",
    responses={401: PROBLEMS[401], 409: PROBLEMS[409]},
)
async def refresh_token(
    request: Request, response: Response, session: Session, refresh: RefreshCookie = None
) -> TokenOut:
    try:
        user, issued = await sessions.refresh(session, refresh, request.app.state.settings)
    except sessions.SessionEnded as ended:
        await session.rollback()  # lets the token's row lock go before the revocation takes it
        await sessions.revoke_ended_session(request.app.state.sessionmaker, ended)
        raise
    _set_refresh_cookie(request, response, issued)
    return _access_token(request, user)


@router.delete(
    REFRESH_PATH,
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["auth"],
    summary="Log out: revoke the login session of the cookie and clear it",
)
async def logout(request: Request, session: Session, refresh: RefreshCookie = None) -> Response:
    await sessions.end_session(session, refresh)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        REFRESH_COOKIE,
        path=REFRESH_PATH,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.refresh_cookie_secure,
    )
    return response


@router.get("/.well-known/jwks.json", tags=["auth"], summary="Public keys that verify access tokens (JWKS)")
async def jwks(request: Request, response: Response) -> dict:
    response.headers["Cache-Control"] = "public, max-age=300"
    return request.app.state.key_ring.jwks()


@router.get("/api/v1/auth/me", response_model=UserOut, tags=["auth"], summary="The logged-in user")
async def me(session: Session, user: Caller) -> UserOut:
    found = await repo.get_user(session, user.user_id)
    if found is None:
        raise NotFound("your account no longer exists")
    return UserOut.model_validate(found)


# Departments ------------------------------------------------------------------------------------
@router.get("/api/v1/departments", response_model=Page[DepartmentOut], tags=["departments"], summary="List departments")
async def list_departments(session: Session, _: Caller, page: Annotated[PageParams, Depends(page_params)]):
    items, total = await repo.list_departments(session, page)
    return Page(
        items=[DepartmentOut.model_validate(d) for d in items], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/api/v1/departments",
    response_model=DepartmentOut,
    status_code=status.HTTP_201_CREATED,
    tags=["departments"],
    summary="Create a department (Admin)",
    responses={403: PROBLEMS[403], 409: PROBLEMS[409]},
)
async def create_department(body: DepartmentCreate, session: Session, admin: Admin):
    return DepartmentOut.model_validate(await service.create_department(session, body))


@router.get(
    "/api/v1/departments/{department_id}",
    response_model=DepartmentOut,
    tags=["departments"],
    summary="One department",
    responses={404: PROBLEMS[404]},
)
async def get_department(department_id: uuid.UUID, session: Session, _: Caller):
    dept = await repo.get_department(session, department_id)
    if dept is None:
        raise NotFound(f"no department {department_id}")
    return DepartmentOut.model_validate(dept)


@router.patch(
    "/api/v1/departments/{department_id}",
    response_model=DepartmentOut,
    tags=["departments"],
    summary="Rename a department or change its manager (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def update_department(department_id: uuid.UUID, body: DepartmentUpdate, session: Session, admin: Admin):
    return DepartmentOut.model_validate(await service.update_department(session, department_id, body))


@router.delete(
    "/api/v1/departments/{department_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["departments"],
    summary="Delete an empty department (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def delete_department(department_id: uuid.UUID, session: Session, admin: Admin) -> Response:
    await service.delete_department(session, department_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# Users ------------------------------------------------------------------------------------------
def _visible(caller: Principal, department_id: uuid.UUID | None, user_id: uuid.UUID) -> bool:
    """Admins see everyone; others see themselves and the people of their own department."""
    return (
        caller.is_admin
        or caller.user_id == user_id
        or (caller.department_id is not None and caller.department_id == department_id)
    )


@router.get(
    "/api/v1/users",
    response_model=Page[UserOut],
    tags=["users"],
    summary="List users (Admin: all; others: their own department)",
)
async def list_users(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    department_id: uuid.UUID | None = None,
    role: Role | None = None,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="Part of a name or email")] = None,
):
    if not caller.is_admin:
        if caller.department_id is None or (department_id and department_id != caller.department_id):
            return Page(items=[], total=0, limit=page.limit, offset=page.offset)
        department_id = caller.department_id
    items, total = await repo.list_users(session, page, department_id=department_id, role=role, active=active, q=q)
    return Page(items=[UserOut.model_validate(u) for u in items], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/api/v1/people",
    response_model=list[PersonOut],
    tags=["users"],
    summary="The names of colleagues by id, for anyone signed in (the directory a screen shows names from)",
    description="Records of every department name people (an assignee, a comment's author, a specialist); "
    "this answers who they are — name, department, whether active — without their account "
    "details, which stay with `GET /api/v1/users` and its department scope. Unknown ids are "
    "left out.",
)
async def list_people(
    session: Session,
    _: Caller,
    ids: Annotated[list[uuid.UUID], Query(min_length=1, max_length=200, description="The users' ids (1 to 200)")],
):
    return [PersonOut.model_validate(u) for u in await repo.users_by_ids(session, list(dict.fromkeys(ids)))]


@router.post(
    "/api/v1/users",
    response_model=UserOut,
    status_code=status.HTTP_201_CREATED,
    tags=["users"],
    summary="Create a user (Admin)",
    responses={403: PROBLEMS[403], 409: PROBLEMS[409]},
)
async def create_user(body: UserCreate, request: Request, session: Session, admin: Admin):
    user = await service.create_user(session, body, passwords=PasswordPolicy.of(request.app.state.settings))
    return UserOut.model_validate(user)


@router.get(
    "/api/v1/users/{user_id}",
    response_model=UserOut,
    tags=["users"],
    summary="One user",
    responses={404: PROBLEMS[404]},
)
async def get_user(user_id: uuid.UUID, session: Session, caller: Caller):
    user = await repo.get_user(session, user_id)
    if user is None or not _visible(caller, user.department_id, user.id):
        raise NotFound(f"no user {user_id}")
    return UserOut.model_validate(user)


@router.patch(
    "/api/v1/users/{user_id}",
    response_model=UserOut,
    tags=["users"],
    summary="Change a user: name, email, role, department, active, password (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def update_user(user_id: uuid.UUID, body: UserUpdate, request: Request, session: Session, admin: Admin):
    user = await service.update_user(session, user_id, body, passwords=PasswordPolicy.of(request.app.state.settings))
    return UserOut.model_validate(user)


@router.delete(
    "/api/v1/users/{user_id}",
    response_model=UserOut,
    tags=["users"],
    summary="Deactivate a user (Admin); the record is kept",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def deactivate_user(user_id: uuid.UUID, request: Request, session: Session, admin: Admin):
    user = await service.update_user(
        session, user_id, UserUpdate(active=False), passwords=PasswordPolicy.of(request.app.state.settings)
    )
    return UserOut.model_validate(user)
