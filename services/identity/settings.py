"""Settings of the identity service."""

from pydantic import Field

from shared.settings import DatabaseSettings


class IdentitySettings(DatabaseSettings):
    service_name: str = Field("identity", description="Name of the service: the `source` of its events.")
    http_port: int = Field(8001, description="Port the HTTP server listens on.")
    access_token_ttl_seconds: int = Field(900, description="Lifetime of an access token (seconds).")
    signing_key_file: str | None = Field(
        None,
        description="PEM file with the EC P-256 private key that signs tokens. Unset: a key is generated once "
        "and kept in the identity database.",
    )
    password_min_length: int = Field(10, description="Shortest password accepted.")
    password_min_strength: int = Field(
        3,
        ge=0,
        le=4,
        description="Lowest zxcvbn score (0-4) a new password must have: common passwords, words, patterns and the "
        "user's own name or email rate low (`password12` is 1); 0 checks the length only.",
    )
    login_free_failures: int = Field(
        5, description="Failed logins an account may have before each further one closes it for a while."
    )
    login_delay_seconds: float = Field(
        1.0,
        description="How long the first failure past LOGIN_FREE_FAILURES closes the account (429 with Retry-After, "
        "its password not checked); each further failure doubles it.",
    )
    login_max_delay_seconds: float = Field(900.0, description="The longest an account is closed after failed logins.")
    refresh_token_ttl_seconds: int = Field(
        43_200, description="A refresh token unused this long expires (seconds): a working day needs one login."
    )
    refresh_session_max_seconds: int = Field(
        604_800, description="However often it is refreshed, a login session ends this long after the login (seconds)."
    )
    refresh_reuse_grace_seconds: float = Field(
        10.0,
        description="A refresh token presented again this soon after its rotation (two tabs refreshing at "
        "once) is refused without ending the session; later, its reuse ends the whole session.",
    )
    refresh_cookie_secure: bool = Field(
        True, description="Mark the refresh cookie Secure (browsers still send it to http://localhost and 127.0.0.1)."
    )
