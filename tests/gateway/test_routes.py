"""The gateway's path-to-service table."""

from services.gateway.routes import service_for


def test_prefixes_match_themselves_and_below_only():
    assert service_for("/api/v1/auth/token") == "identity"
    assert service_for("/api/v1/users") == "identity"
    assert service_for("/api/v1/users/123") == "identity"
    assert service_for("/.well-known/jwks.json") == "identity"
    assert service_for("/api/v1/audit/records") == "audit"
    assert service_for("/api/v1/usersX") is None
    assert service_for("/api/v1/auditor") is None
    assert service_for("/api/v2/users") is None


def test_notifications_route_and_the_only_query_token_route():
    from services.gateway.routes import PUBLIC, QUERY_TOKEN

    assert service_for("/api/v1/notifications") == "notifications"
    assert service_for("/api/v1/notifications/stream") == "notifications"
    assert service_for("/api/v1/notificationsX") is None
    assert {("GET", "/api/v1/notifications/stream")} == QUERY_TOKEN
    assert not QUERY_TOKEN & PUBLIC


def test_documents_route_and_its_uploads():
    from services.gateway.routes import is_upload

    assert service_for("/api/v1/documents") == "documents"
    assert service_for("/api/v1/documents/1/content") == "documents"
    assert is_upload("POST", "/api/v1/documents") and is_upload("POST", "/api/v1/documents/1/versions")
    assert not is_upload("GET", "/api/v1/documents") and not is_upload("POST", "/api/v1/documentsX")
    assert not is_upload("POST", "/api/v1/clients")


def test_privacy_route_and_no_internal_route():
    assert service_for("/api/v1/privacy/requests") == "privacy"
    assert service_for("/api/v1/privacy/subjects/client/1/erasure") == "privacy"
    assert service_for("/api/v1/privacyX") is None
    # The services' own /internal/* APIs (the keys) are never routed.
    assert service_for("/internal/keys/client/1") is None
