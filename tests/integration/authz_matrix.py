"""The authorisation matrix: for every endpoint the gateway serves, what each role may do, and to which
records (architecture.md, "Access"). `test_authorization_matrix.py` exercises every cell on the real stack.

Who asks: an Employee and a Manager of one department, and the Admin (the test takes the Technical
department's giorgos and nikos with Sales as the other department, then Sales' kostas and maria with
Technical as the other one).
Which record (where an endpoint is about one):
  own    a record of the caller's own department that is not assigned to or owned by them
  other  a record of the other department, not theirs either
  mine   a record of the other department assigned to or owned by the caller: only that lets them in
For the Admin the same three records are used (the Admin has no department and sees everything).

Outcomes, as one word each in the table below:
  ok    2xx; on a list endpoint, 2xx and the record is in the list
  404   out of scope: a record is answered 404; on a list endpoint, 2xx and the record is NOT in it
  403   an action outside the role (answered before the record is even looked up)
  422   a body naming a record outside the caller's scope: answered exactly like an unknown one (422
        naming the field), so nothing leaks; the URL itself names no record
  409   passed the access check and was refused by the record's state: used where the real action is
        one-way (accepting a deal), so the probe proves access without consuming fixtures
Without a token every endpoint but the public ones is 401, at the gateway and at the owning service.

The test fails when the gateway's OpenAPI has an endpoint without a row here, or a row names an endpoint
that no longer exists: adding an endpoint means deciding who may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("Employee", "Manager", "Admin")
SCOPES = ("own", "other", "mine")
OUTCOMES = ("ok", "403", "404", "409", "422")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    # role -> scope -> outcome; the scope is None for an endpoint about no particular record.
    expect: dict[str, dict[str | None, str]]
    variant: str = ""  # one endpoint may have several rows exercising different parts of it
    public: bool = False
    note: str = ""
    list_of_records: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        return self.method, self.path, self.variant

    @property
    def endpoint(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def scopes(self) -> tuple[str | None, ...]:
        return tuple(self.expect["Admin"])


def _cells(spec: str) -> dict[str | None, str]:
    """`"ok"` (no record) or `"own:ok other:404 mine:ok"` -> {scope: outcome}."""
    cells: dict[str | None, str] = {}
    for part in spec.split():
        scope, _, outcome = part.rpartition(":")
        assert outcome in OUTCOMES, f"unknown outcome {outcome!r} in {spec!r}"
        assert scope in SCOPES or scope == "", f"unknown scope {scope!r} in {spec!r}"
        cells[scope or None] = outcome
    return cells


def row(
    method: str, path: str, E: str, M: str, A: str, *, variant: str = "", note: str = "", list_of_records: bool = False
) -> Row:
    expect = {"Employee": _cells(E), "Manager": _cells(M), "Admin": _cells(A)}
    # The Admin may lack `mine` where nothing can be assigned to the Admin (a task's assignee is a member of
    # its department, and the Admin has none).
    assert tuple(expect["Employee"]) == tuple(expect["Manager"]) and set(expect["Admin"]) <= set(expect["Employee"]), (
        f"{method} {path}: the roles' scopes differ"
    )
    return Row(method, path, expect, variant=variant, note=note, list_of_records=list_of_records)


def public(method: str, path: str, note: str) -> Row:
    return Row(method, path, {r: {None: "ok"} for r in ROLES}, public=True, note=note)


EVERYONE = dict(E="ok", M="ok", A="ok")
ADMIN_ONLY = dict(E="403", M="403", A="ok")
CONFIG_EDIT = dict(E="own:403 other:403", M="own:403 other:403", A="own:ok other:ok")
# A record of the department, or the caller's own; the Admin every one.
DEPARTMENT_OR_MINE = dict(E="own:ok other:404 mine:ok", M="own:ok other:404 mine:ok", A="own:ok other:ok mine:ok")
DEPARTMENT = dict(E="own:ok other:404", M="own:ok other:404", A="own:ok other:ok")
TASKS = dict(E="own:ok other:404 mine:ok", M="own:ok other:404 mine:ok", A="own:ok other:ok")
ONLY_MINE = dict(E="own:404 other:404 mine:ok", M="own:404 other:404 mine:ok", A="own:404 other:404 mine:ok")

MATRIX: tuple[Row, ...] = (
    # Identity -------------------------------------------------------------------------------------
    public("POST", "/api/v1/auth/token", "logging in needs no token"),
    public("POST", "/api/v1/auth/refresh", "the login session's cookie is the credential"),
    public("DELETE", "/api/v1/auth/refresh", "logging out needs only the session's cookie"),
    public("GET", "/.well-known/jwks.json", "the public keys that verify tokens"),
    row("GET", "/api/v1/auth/me", **EVERYONE),
    row(
        "GET",
        "/api/v1/people",
        E="own:ok other:ok",
        M="own:ok other:ok",
        A="own:ok other:ok",
        list_of_records=True,
        note="The directory of names: a record of another department names its people too (no account details).",
    ),
    row(
        "GET",
        "/api/v1/departments",
        E="own:ok other:ok",
        M="own:ok other:ok",
        A="own:ok other:ok",
        list_of_records=True,
        note="Departments are the directory everyone works with (names, who manages each), not records a "
        "department owns: everyone reads them, only the Admin changes them.",
    ),
    row("POST", "/api/v1/departments", **ADMIN_ONLY),
    row(
        "GET",
        "/api/v1/departments/{department_id}",
        E="own:ok other:ok",
        M="own:ok other:ok",
        A="own:ok other:ok",
        note="See GET /api/v1/departments: the directory is readable by everyone.",
    ),
    row("PATCH", "/api/v1/departments/{department_id}", **CONFIG_EDIT),
    row("DELETE", "/api/v1/departments/{department_id}", **ADMIN_ONLY, note="on a new, empty department"),
    row("GET", "/api/v1/users", **DEPARTMENT_OR_MINE, list_of_records=True),
    row("POST", "/api/v1/users", **ADMIN_ONLY),
    row("GET", "/api/v1/users/{user_id}", **DEPARTMENT_OR_MINE),
    row(
        "PATCH",
        "/api/v1/users/{user_id}",
        E="own:403 other:403 mine:403",
        M="own:403 other:403 mine:403",
        A="own:ok other:ok mine:ok",
        note="Users are configuration: nobody but the Admin edits one, not even their own.",
    ),
    row(
        "DELETE",
        "/api/v1/users/{user_id}",
        E="own:403 other:403 mine:403",
        M="own:403 other:403 mine:403",
        A="own:ok other:ok mine:409",
        note="Deactivation (of new users of each department); the Admin may not deactivate themselves (409).",
    ),
    # Clients: a client belongs to a department; it has no owner or assignee, so no `mine` ---------
    row("GET", "/api/v1/clients", **DEPARTMENT, list_of_records=True),
    row(
        "POST",
        "/api/v1/clients",
        E="own:ok other:403",
        M="own:ok other:403",
        A="own:ok other:ok",
        note="The scope is the department named in the body: only the Admin places a client in another one.",
    ),
    row("GET", "/api/v1/clients/{client_id}", **DEPARTMENT),
    row("PATCH", "/api/v1/clients/{client_id}", **DEPARTMENT),
    row(
        "DELETE",
        "/api/v1/clients/{client_id}",
        E="own:403 other:403",
        M="own:ok other:404",
        A="own:ok other:ok",
        note="Archiving is for Managers (their department's clients) and the Admin.",
    ),
    row("GET", "/api/v1/clients/{client_id}/ancestors", **DEPARTMENT),
    row("GET", "/api/v1/clients/{client_id}/subtree", **DEPARTMENT),
    row("GET", "/api/v1/clients/{client_id}/rollup", **DEPARTMENT),
    row(
        "GET",
        "/api/v1/clients/{client_id}/360",
        **DEPARTMENT,
        note="Composed at the gateway; the clients service's answer decides, each part is scoped by its service.",
    ),
    # Contracts: scoped by the client's department; `mine` = the caller is the contract's specialist
    row("GET", "/api/v1/contracts", **DEPARTMENT_OR_MINE, list_of_records=True),
    row(
        "POST",
        "/api/v1/contracts",
        E="own:403 other:403",
        M="own:ok other:422",
        A="own:ok other:ok",
        note="By hand: Managers (for their department's clients) and the Admin. The scope is the client named "
        "in the body.",
    ),
    row("GET", "/api/v1/contracts/{contract_id}", **DEPARTMENT_OR_MINE),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/issue",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="An Employee reads the department's contracts but writes only those they are the specialist of.",
    ),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/cancel",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="As issue.",
    ),
    row(
        "GET",
        "/api/v1/contracts/{contract_id}/cancellation-quote",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="Whoever may cancel may see the refund.",
    ),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/reinstate",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="As cancel.",
    ),
    row("GET", "/api/v1/contracts/{contract_id}/versions", **DEPARTMENT_OR_MINE),
    row("GET", "/api/v1/contracts/{contract_id}/endorsements", **DEPARTMENT_OR_MINE),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/endorsements",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="Requested by whoever may change the contract.",
    ),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/bind",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="Also any member of Policy Administration (not among these callers): they administer every policy.",
    ),
    row(
        "POST",
        "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/withdraw",
        E="own:403 other:404 mine:ok",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="As bind.",
    ),
    row(
        "GET",
        "/api/v1/contracts/renewals",
        **EVERYONE,
        note="The workbench lists the contracts the caller may see (the contracts list's predicate); which ones "
        "it holds: tests/contracts/test_renewals.py.",
    ),
    row("GET", "/api/v1/contracts/renewals/retention", **EVERYONE, note="Over the contracts the caller may see."),
    row("GET", "/api/v1/contracts/referral-rules", E="403", M="ok", A="ok"),
    row("POST", "/api/v1/contracts/referral-rules", **ADMIN_ONLY),
    row("PATCH", "/api/v1/contracts/referral-rules/{rule_id}", **ADMIN_ONLY),
    row("GET", "/api/v1/contracts/referrals", **EVERYONE, note="Those of the contracts the caller may see."),
    row(
        "POST",
        "/api/v1/contracts/referrals/{referral_id}/approve",
        E="own:403 other:403 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="A person owns the decision: a Manager who may change the contract, or the Admin; never an Employee.",
    ),
    row(
        "POST",
        "/api/v1/contracts/referrals/{referral_id}/decline",
        E="own:403 other:403 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="As approve.",
    ),
    # Audit ----------------------------------------------------------------------------------------
    row(
        "GET",
        "/api/v1/audit/records",
        E="403",
        M="ok",
        A="ok",
        note="The trail is for Managers and the Admin; a Manager's list holds their department's records only "
        "(services/audit/repository.py in_department), the Admin's every record.",
    ),
    row(
        "GET",
        "/api/v1/audit/records/{event_id}",
        E="own:403 other:403",
        M="own:ok other:404",
        A="own:ok other:ok",
        note="A record of another department's client is unknown to a Manager.",
    ),
    row(
        "GET",
        "/api/v1/audit/clients/{client_id}/history",
        E="own:403 other:403",
        M="own:ok other:404",
        A="own:ok other:ok",
        note="As the client itself: another department's client is unknown to a Manager.",
    ),
    row("GET", "/api/v1/audit/verify", **ADMIN_ONLY),
    row("GET", "/api/v1/audit/export", **ADMIN_ONLY),
    row("GET", "/api/v1/audit/reports/compliance", **ADMIN_ONLY),
    # Data-subject rights (the privacy service): the Admin alone.
    row(
        "POST",
        "/api/v1/privacy/subjects/{kind}/{subject_id}/erasure",
        **ADMIN_ONLY,
        note="the erasure of a fresh subject id (nobody's data)",
    ),
    row("GET", "/api/v1/privacy/requests", **ADMIN_ONLY),
    # Pipeline configuration: readable by everyone, changed by the Admin ----------------------------
    row("GET", "/api/v1/lines", **EVERYONE),
    row("POST", "/api/v1/lines", **ADMIN_ONLY),
    row("GET", "/api/v1/lines/{line_id}", **EVERYONE),
    row("PATCH", "/api/v1/lines/{line_id}", **ADMIN_ONLY),
    row("GET", "/api/v1/stages", **EVERYONE),
    row("PATCH", "/api/v1/stages/{key}", **ADMIN_ONLY),
    # Deals: a deal belongs to its line's department; `mine` = the caller owns it -------------------
    row(
        "POST",
        "/api/v1/opportunities",
        E="own:ok other:422",
        M="own:ok other:422",
        A="own:ok other:ok",
        note="The scope is the client named in the body: a deal is opened for a client the caller may see.",
    ),
    row("GET", "/api/v1/opportunities", **DEPARTMENT_OR_MINE, list_of_records=True),
    row("GET", "/api/v1/opportunities/{opportunity_id}", **DEPARTMENT_OR_MINE),
    row("GET", "/api/v1/opportunities/{opportunity_id}/checklist", **DEPARTMENT_OR_MINE),
    row("PATCH", "/api/v1/opportunities/{opportunity_id}", **DEPARTMENT_OR_MINE, variant="edit"),
    row(
        "PATCH",
        "/api/v1/opportunities/{opportunity_id}",
        E="own:403 other:404 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        variant="reassign",
        note="Reassigning the owner is for Managers and the Admin; an unseen deal stays unseen (404).",
    ),
    row("POST", "/api/v1/opportunities/{opportunity_id}/advance", **DEPARTMENT_OR_MINE),
    row("POST", "/api/v1/opportunities/{opportunity_id}/move-back", **DEPARTMENT_OR_MINE),
    row(
        "POST",
        "/api/v1/opportunities/{opportunity_id}/accept",
        E="own:409 other:404 mine:409",
        M="own:409 other:404 mine:409",
        A="own:409 other:409 mine:409",
        note="Probed on deals at First Contact: allowed callers get past the access check to the stage rule.",
    ),
    row(
        "POST",
        "/api/v1/opportunities/{opportunity_id}/decline",
        E="own:409 other:404 mine:409",
        M="own:409 other:404 mine:409",
        A="own:409 other:409 mine:409",
        note="As accept.",
    ),
    row(
        "POST",
        "/api/v1/opportunities/{opportunity_id}/complete",
        E="own:409 other:404 mine:409",
        M="own:409 other:404 mine:409",
        A="own:409 other:409 mine:409",
        note="As accept.",
    ),
    row("GET", "/api/v1/opportunities/{opportunity_id}/timeline", **DEPARTMENT_OR_MINE),
    row("GET", "/api/v1/pipeline/board", **DEPARTMENT_OR_MINE, list_of_records=True),
    row(
        "GET",
        "/api/v1/pipeline/board/stream",
        **EVERYONE,
        note="Anyone's board follows the deals they may see; which events reach whom: test_board_stream.py.",
    ),
    row("GET", "/api/v1/pipeline/analytics", **EVERYONE, note="Computed over the deals the caller may see."),
    # Tasks: a task belongs to a department; `mine` = assigned to the caller, who is always a member of
    # the task's department (services/tasks/service.py `_active_member`), so the Admin has no `mine`
    row("GET", "/api/v1/tasks", **TASKS, list_of_records=True),
    row(
        "POST",
        "/api/v1/tasks",
        E="own:ok other:403",
        M="own:ok other:ok",
        A="own:ok other:ok",
        note="The scope is the department named in the body (the ticket links no record). Deliberately, a Manager "
        "may open a ticket for another department (a request to it); an Employee only in their own.",
    ),
    row(
        "POST",
        "/api/v1/tasks",
        E="own:ok other:422",
        M="own:ok other:422",
        A="own:ok other:ok",
        variant="link",
        note="The scope is the client (and its deal) the ticket links, in the caller's own department: another "
        "department's is answered like an unknown one.",
    ),
    row("GET", "/api/v1/tasks/{task_id}", **TASKS),
    row("PATCH", "/api/v1/tasks/{task_id}", **TASKS, variant="edit"),
    row(
        "PATCH",
        "/api/v1/tasks/{task_id}",
        E="own:403 other:404 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok",
        variant="deadline",
        note="Moving a deadline is for Managers and the Admin.",
    ),
    row(
        "POST",
        "/api/v1/tasks/{task_id}/reassign",
        E="own:403 other:404 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok",
        note="The department's Manager or the Admin reassigns.",
    ),
    row("GET", "/api/v1/tasks/{task_id}/comments", **TASKS),
    row("POST", "/api/v1/tasks/{task_id}/comments", **TASKS),
    row(
        "GET",
        "/api/v1/workload",
        E="own:403 other:403",
        M="own:ok other:404",
        A="own:ok other:ok",
        note="The scope is the department asked about: another department's workload is a record outside the "
        "Manager's scope, answered 404 like an unknown department (an Employee's is outside the role, 403).",
    ),
    row("GET", "/api/v1/calendar", **EVERYONE),
    row("PUT", "/api/v1/calendar", **ADMIN_ONLY),
    # The dashboard, composed at the gateway for the caller's role ---------------------------------
    row("GET", "/api/v1/dashboard", **EVERYONE),
    # Notifications: an inbox is personal, for the Admin too ----------------------------------------
    row("GET", "/api/v1/notifications/stream", **EVERYONE, note="The caller's own stream."),
    row(
        "GET",
        "/api/v1/notifications",
        **ONLY_MINE,
        list_of_records=True,
        note="`own` = a notification of a colleague of the caller's department; nobody reads another's inbox.",
    ),
    row("GET", "/api/v1/notifications/unread-count", **EVERYONE),
    row("POST", "/api/v1/notifications/read-all", **EVERYONE),
    row("GET", "/api/v1/notifications/preferences", **EVERYONE),
    row("PUT", "/api/v1/notifications/preferences", **EVERYONE),
    row("GET", "/api/v1/notifications/{notification_id}", **ONLY_MINE),
    row("POST", "/api/v1/notifications/{notification_id}/read", **ONLY_MINE),
    # Documents: whoever may see the owning record (here a deal; `mine` = the caller owns it) sees its documents
    row("GET", "/api/v1/documents", **DEPARTMENT_OR_MINE, list_of_records=True),
    row("POST", "/api/v1/documents", **DEPARTMENT_OR_MINE, note="An upload for the scope's deal."),
    row("GET", "/api/v1/documents/{document_id}", **DEPARTMENT_OR_MINE),
    row("GET", "/api/v1/documents/{document_id}/content", **DEPARTMENT_OR_MINE),
    row("POST", "/api/v1/documents/{document_id}/versions", **DEPARTMENT_OR_MINE),
    row("GET", "/api/v1/documents/checklists", **EVERYONE),
    row(
        "PUT",
        "/api/v1/documents/checklists/{stage_key}",
        **ADMIN_ONLY,
        note="The Admin's probe writes the checklist back as it was.",
    ),
    row(
        "DELETE",
        "/api/v1/documents/{document_id}",
        E="own:403 other:404 mine:403",
        M="own:ok other:404 mine:ok",
        A="own:ok other:ok mine:ok",
        note="Of a document the caller sees: the Admin, a Manager, or whoever uploaded it (the Admin uploaded "
        "these, a new one per cell).",
    ),
    # Imports (clients service): a Manager's or the Admin's; a job is its importer's (and the Admin's).
    # `mine` = a job the caller uploaded; `other` = someone else's (the Admin's, or for the Admin a Manager's).
    row("GET", "/api/v1/imports/templates/{kind}", E="403", M="ok", A="ok"),
    row("POST", "/api/v1/imports/{kind}", E="403", M="ok", A="ok", note="A dry run: writes a job, no records."),
    row("GET", "/api/v1/imports", E="403", M="ok", A="ok"),
    row("GET", "/api/v1/imports/{job_id}", E="other:403 mine:403", M="other:404 mine:ok", A="other:ok mine:ok"),
    row("GET", "/api/v1/imports/{job_id}/rows", E="other:403 mine:403", M="other:404 mine:ok", A="other:ok mine:ok"),
    row(
        "POST",
        "/api/v1/imports/{job_id}/commit",
        E="other:403 mine:403",
        M="other:404 mine:ok",
        A="other:ok mine:ok",
        note="Probed on jobs whose only row is refused: the commit has nothing to do.",
    ),
    # Data subjects' rights (GDPR): the Admin's alone -----------------------------------------------
    row(
        "GET",
        "/api/v1/privacy/subjects/{subject_kind}/{subject_id}/export",
        **ADMIN_ONLY,
        note="Composed at the gateway from every service's part (services/gateway/privacy_export.py).",
    ),
    # Dead letters: the Admin's alone (shared/messaging/dead_letters) ------------------------------
    row("GET", "/api/v1/dead-letters", **ADMIN_ONLY, note="Composed at the gateway from every consuming service."),
    row("GET", "/api/v1/dead-letters/{consumer}", **ADMIN_ONLY),
    row("GET", "/api/v1/dead-letters/{consumer}/{dead_letter_id}", **ADMIN_ONLY),
    row(
        "POST",
        "/api/v1/dead-letters/{consumer}/replay",
        **ADMIN_ONLY,
        note="Answers what became of each letter; probed on a discarded one (its result says `conflict`).",
    ),
    row(
        "POST",
        "/api/v1/dead-letters/{consumer}/{dead_letter_id}/replay",
        E="403",
        M="403",
        A="409",
        note="Probed on a discarded letter: the Admin gets past the role check to the letter's state.",
    ),
    row(
        "POST", "/api/v1/dead-letters/{consumer}/{dead_letter_id}/discard", E="403", M="403", A="409", note="As replay."
    ),
)


def cell_count(rows: tuple[Row, ...] = MATRIX) -> int:
    return sum(len(r.expect[role]) for r in rows for role in ROLES)
