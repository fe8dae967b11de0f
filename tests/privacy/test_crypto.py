"""The sealing of personal fields (`shared.privacy`): a value round-trips under its subject's key; a sealed value
altered, moved to another field or another event, or opened under another key is refused; a destroyed key opens
as "erased" (a name, a required text) or None; the markers of the contracts say which fields are personal."""

from __future__ import annotations

import copy
import uuid

import pytest

from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.identity import UserCreated
from shared.contracts.personal import personal_spec
from shared.contracts.privacy import ERASED
from shared.contracts.tasks import TaskCommented
from shared.privacy import crypto, keys
from shared.privacy.fields import open_data, reveal, seal_data
from tests import events


def test_a_value_round_trips_and_any_change_is_refused():
    key, other = crypto.new_key(), crypto.new_key()
    sealed = crypto.seal(key, "client:1", {"a": ["Ελένη", 3]}, event_id="e1", path="name")
    assert set(sealed) == {"enc", "kid", "n", "ct"} and "Ελένη" not in str(sealed)
    assert crypto.open_sealed(key, sealed, event_id="e1", path="name") == {"a": ["Ελένη", 3]}
    flipped = dict(sealed, ct=sealed["ct"][:-2] + ("A" if sealed["ct"][-2] != "A" else "B") + sealed["ct"][-1])
    for bad, event_id, path, under in (
        (flipped, "e1", "name", key),  # the ciphertext altered
        (sealed, "e2", "name", key),  # moved to another event
        (sealed, "e1", "email", key),  # moved to another field
        (sealed, "e1", "name", other),  # another subject's key
    ):
        with pytest.raises(crypto.Tampered):
            crypto.open_sealed(under, bad, event_id=event_id, path=path)


def test_a_wrapped_key_opens_only_under_its_master_and_for_its_subject():
    master = crypto.master_key_from_secret("a secret of any length")
    assert len(master) == 32 and master == crypto.master_key_from_secret("a secret of any length")
    data_key = crypto.new_key()
    wrapped = crypto.wrap_key(master, "client:1", data_key)
    assert crypto.unwrap_key(master, "client:1", wrapped) == data_key
    with pytest.raises(crypto.Tampered):
        crypto.unwrap_key(master, "client:2", wrapped)
    with pytest.raises(crypto.Tampered):
        crypto.unwrap_key(crypto.master_key_from_secret("another"), "client:1", wrapped)


def test_the_contracts_mark_their_personal_fields_and_subjects():
    person = personal_spec(ClientCreated)
    assert person.subject_of({"client_id": "c"}) == "client:c"
    individual = {"kind": "individual"}
    assert set(person.personal_fields(individual)) == {"name", "tax_id", "email", "phone", "address"}
    # A company's name and tax id are not personal data; its contact details may be a person's.
    assert set(person.personal_fields({"kind": "company"})) == {"email", "phone", "address"}
    assert personal_spec(ClientUpdated).changes == {"name", "tax_id", "email", "phone", "address"}
    assert {n for n, _ in personal_spec(UserCreated).fields} == {"name", "email"}
    comment = personal_spec(TaskCommented)
    assert comment.subject_of({"client_id": None, "author_id": "u"}) == "user:u"
    assert comment.subject_of({"client_id": "c", "author_id": "u"}) == "client:c"
    schema = ClientCreated.model_json_schema()["properties"]
    assert schema["email"]["x-personal"] is True and schema["name"]["x-personal-when"] == {"kind": "individual"}
    assert schema["client_id"]["x-data-subject"] == "client" and "x-personal" not in schema["country"]


async def test_sealed_fields_open_to_the_values_and_a_destroyed_key_reads_erased(key_provider):
    client = events.client_created(kind="individual", name="Μαρία Παπαδοπούλου", tax_id="123456789", email="m@x.gr")
    data = client.model_dump(mode="json")
    sealed = await seal_data(ClientCreated, data, event_id="e1")
    assert data["name"] == "Μαρία Παπαδοπούλου"  # the caller's copy is left alone
    for name in ("name", "tax_id", "email"):
        assert crypto.is_sealed(sealed[name]) and sealed[name]["kid"] == f"client:{client.client_id}"
    assert sealed["phone"] is None and sealed["country"] == "DE" and sealed["kind"] == "individual"
    assert "Μαρία" not in str(sealed) and "m@x.gr" not in str(sealed)
    assert await open_data(sealed, event_id="e1", model=ClientCreated) == data
    # Tampering is not "erased": it is refused.
    with pytest.raises(crypto.Tampered):
        await open_data(sealed, event_id="another event", model=ClientCreated)

    key_provider.destroy(f"client:{client.client_id}")
    erased = await open_data(sealed, event_id="e1", model=ClientCreated)
    assert (erased["name"], erased["tax_id"], erased["email"]) == (ERASED, None, None)
    assert ClientCreated.model_validate(erased).name == ERASED
    # An event about an erased subject is written with the erased values, never the personal ones.
    after = await seal_data(ClientCreated, data, event_id="e2")
    assert (after["name"], after["email"]) == (ERASED, None)


async def test_a_company_keeps_its_name_in_clear_and_changes_are_sealed_by_field(key_provider):
    company = events.client_created(kind="company", name="Fleet Logistics Ltd", tax_id="EL999", phone="+30 210")
    sealed = await seal_data(ClientCreated, company.model_dump(mode="json"), event_id="e1")
    assert (sealed["name"], sealed["tax_id"]) == ("Fleet Logistics Ltd", "EL999")
    assert crypto.is_sealed(sealed["phone"])

    update = events.client_updated(
        company.client_id, changes=events.changes(email=("a@x.io", "b@x.io"), department_id=("d1", "d2"))
    )
    data = update.model_dump(mode="json")
    sealed_update = await seal_data(ClientUpdated, data, event_id="e3")
    email = sealed_update["changes"]["email"]
    assert crypto.is_sealed(email["before"]) and crypto.is_sealed(email["after"])
    assert sealed_update["changes"]["department_id"] == {"before": "d1", "after": "d2"}
    assert await open_data(sealed_update, event_id="e3", model=ClientUpdated) == data
    # before and after are bound to their place: swapped, they do not open.
    swapped = copy.deepcopy(sealed_update)
    swapped["changes"]["email"] = {"before": email["after"], "after": email["before"]}
    with pytest.raises(crypto.Tampered):
        await open_data(swapped, event_id="e3", model=ClientUpdated)


async def test_without_personal_fields_nothing_asks_for_a_key():
    class Refusing:
        async def key(self, kid: str, *, create: bool = False) -> bytes:
            raise AssertionError("asked for a key")

        def forget(self, kid: str) -> None:
            pass

    previous = keys.set_provider(Refusing())
    try:
        contract = events.contract_created().model_dump(mode="json")
        from shared.contracts.contracts import ContractCreated

        assert await seal_data(ContractCreated, contract, event_id="e") is contract
        assert await open_data(contract, event_id="e") is contract
        company = events.client_created(kind="company").model_dump(mode="json")  # no email, phone, address
        assert await seal_data(ClientCreated, company, event_id="e") is company
    finally:
        keys.set_provider(previous)


async def test_audit_reveals_a_record_or_shows_erased(key_provider):
    user = UserCreated(
        user_id=uuid.uuid4(), name="Nikos", email="n@x.gr", role="Employee", department_id=None, active=True
    )
    sealed = await seal_data(UserCreated, user.model_dump(mode="json"), event_id="u1")
    changes = [{"field": k, "before": None, "after": v} for k, v in sealed.items() if k != "user_id"]
    data, opened = await reveal(sealed, changes, event_id="u1")
    assert data["name"] == "Nikos" and {c["field"]: c["after"] for c in opened}["email"] == "n@x.gr"
    assert crypto.is_sealed(sealed["name"])  # the stored form is left as it is
    key_provider.destroy(f"user:{user.user_id}")
    data, opened = await reveal(sealed, changes, event_id="u1")
    assert (data["name"], data["email"]) == (ERASED, ERASED) and data["role"] == "Employee"
    assert {c["field"]: c["after"] for c in opened}["name"] == ERASED


async def test_without_a_provider_fields_stay_clear_and_a_sealed_one_cannot_be_read(key_provider):
    person = events.client_created(kind="individual", name="Anna").model_dump(mode="json")
    sealed = await seal_data(ClientCreated, person, event_id="e")
    previous = keys.set_provider(None)  # PRIVACY_URL unset
    try:
        assert await seal_data(ClientCreated, person, event_id="e") is person
        with pytest.raises(RuntimeError, match="no key provider"):
            await open_data(sealed, event_id="e")
    finally:
        keys.set_provider(previous)


async def test_the_http_provider_caches_keys_remembers_a_destroyed_one_and_an_outage_is_transient():
    import base64

    import httpx

    from shared.messaging.consumer import TRANSIENT, failure_kind

    key = crypto.new_key()
    calls: list[tuple[str, str, str | None]] = []
    destroyed = {"/internal/keys/client/gone"}

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, request.url.path, request.headers.get("x-internal-token")))
        if request.url.path in destroyed:
            return httpx.Response(410, json={"status": 410})
        return httpx.Response(200, json={"kid": "client:1", "key": base64.b64encode(key).decode()})

    provider = keys.HttpKeyProvider("http://privacy", "secret", transport=httpx.MockTransport(answer))
    assert await provider.key("client:1", create=True) == key
    assert await provider.key("client:1") == key  # cached: asked once
    assert calls == [("POST", "/internal/keys/client/1", "secret")]
    provider.forget("client:1")  # a privacy.subject.erased event read
    await provider.key("client:1")
    assert len(calls) == 2 and calls[-1][0] == "GET"
    for _ in range(2):
        with pytest.raises(keys.KeyDestroyed):
            await provider.key("client:gone")
    assert len(calls) == 3  # a destroyed key is remembered
    await provider.close()

    down = keys.HttpKeyProvider("http://127.0.0.1:1", "secret", timeout=1)
    with pytest.raises(keys.KeyUnavailable) as unavailable:
        await down.key("client:1")
    assert failure_kind(unavailable.value) == TRANSIENT  # a consumer waits for it, parks nothing
    await down.close()


async def test_a_batchs_keys_are_fetched_together_before_its_events_are_opened():
    import base64

    import httpx

    from shared.privacy.fields import warm_keys

    memory = keys.InMemoryKeyProvider()
    previous = keys.set_provider(memory)
    people = [events.client_created(kind="individual", name=f"Person {n}") for n in range(5)]
    sealed = [await seal_data(ClientCreated, p.model_dump(mode="json"), event_id=f"e{n}") for n, p in enumerate(people)]
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        kid = "client:" + request.url.path.rsplit("/", 1)[1]
        asked.append(kid)
        return httpx.Response(200, json={"kid": kid, "key": base64.b64encode(memory.keys[kid]).decode()})

    http = keys.HttpKeyProvider("http://privacy", "t", transport=httpx.MockTransport(answer))
    keys.set_provider(http)
    try:
        await warm_keys([*sealed, {"no": "personal fields"}])
        assert sorted(asked) == sorted(f"client:{p.client_id}" for p in people)
        opened = [await open_data(d, event_id=f"e{n}", model=ClientCreated) for n, d in enumerate(sealed)]
        assert [o["name"] for o in opened] == [f"Person {n}" for n in range(5)]
        assert len(asked) == 5  # opening found them cached
    finally:
        keys.set_provider(previous)
        await http.close()
