"""Settings from the environment, overridden by command-line flags.

Secrets are `SecretStr`: their repr is masked, and the only way to the value is an explicit
`get_secret_value()` in the place that builds an auth header.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IMBRACE_GATEWAYS = {
    "stable": "https://app-gatewayv2.imbrace.co",
    "sandbox": "https://app-gateway.sandbox.imbrace.co",
    "develop": "https://app-gateway.dev.imbrace.co",
}
DEFAULT_BIRD_API_URL = "https://api.bird.com"

CommaList = Annotated[list[str], NoDecode]


def _env(*names: str) -> Any:
    return AliasChoices(*names)


def _shown(default: str, **extra: Any) -> dict[str, Any]:
    # How the README states a default that is not a plain value (None meaning "all", "per process", ...).
    return {"shown_default": default, **extra}


class Settings(BaseSettings):
    """Everything channel-mcp reads from its environment. Field names double as CLI flag names.

    Each field's title and description are the one source of the configuration docs: the README table,
    server.json, the MCPB user_config and the Kubernetes keys are generated from them
    (`python -m channel_mcp.manifests --write`), so a new field needs both.
    """

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", env_ignore_empty=True)

    imbrace_api_key: SecretStr | None = Field(
        None,
        title="iMBRACE API key",
        description="iMBRACE API key (sent as `x-api-key`); enables the iMBRACE tools.",
        validation_alias=_env("IMBRACE_API_KEY", "imbrace_api_key"),
    )
    imbrace_access_token: SecretStr | None = Field(
        None,
        title="iMBRACE access token",
        description="Alternative to the API key (sent as `x-access-token`).",
        validation_alias=_env("IMBRACE_ACCESS_TOKEN", "imbrace_access_token"),
    )
    imbrace_organization_id: str | None = Field(
        None,
        title="iMBRACE organization id",
        description="Sent as `x-organization-id` when set.",
        validation_alias=_env("IMBRACE_ORGANIZATION_ID", "imbrace_organization_id"),
    )
    imbrace_gateway_url: str | None = Field(
        None,
        title="iMBRACE gateway URL",
        description="Explicit iMBRACE gateway; overrides `IMBRACE_ENV`.",
        json_schema_extra=_shown("from `IMBRACE_ENV`"),
        validation_alias=_env("IMBRACE_GATEWAY_URL", "imbrace_gateway_url"),
    )
    imbrace_env: Literal["stable", "sandbox", "develop"] | None = Field(
        None,
        title="iMBRACE environment",
        description="Picks the matching iMBRACE gateway.",
        # None means stable (ImbraceClient picks the gateway); stated so clients can offer it as the default.
        json_schema_extra={"effective_default": "stable"},
        validation_alias=_env("IMBRACE_ENV", "imbrace_env"),
    )

    bird_access_key: SecretStr | None = Field(
        None,
        title="Bird access key",
        description="Bird access key (sent as `Authorization: AccessKey …`); enables the Bird tools.",
        validation_alias=_env("BIRD_ACCESS_KEY", "bird_access_key"),
    )
    bird_workspace_id: str | None = Field(
        None,
        title="Bird workspace id",
        description="Default workspace for the Bird tools (`workspace_id` overrides it per call).",
        validation_alias=_env("BIRD_WORKSPACE_ID", "bird_workspace_id"),
    )
    bird_api_url: str = Field(
        DEFAULT_BIRD_API_URL,
        title="Bird API URL",
        description="Bird API base URL.",
        validation_alias=_env("BIRD_API_URL", "bird_api_url"),
    )

    sandbox: bool = Field(
        False,
        title="Sandbox",
        description="Use the built-in simulated iMBRACE and Bird APIs; needs no account.",
        validation_alias=_env("CHANNEL_MCP_SANDBOX", "sandbox"),
    )
    toolsets: CommaList | None = Field(
        None,
        title="Toolsets",
        description="Comma-separated toolsets to enable: imbrace_channels, imbrace_credentials, imbrace_workflows, "
        "imbrace_contacts, imbrace_notifications, bird_channels.",
        json_schema_extra=_shown("all"),
        validation_alias=_env("CHANNEL_MCP_TOOLSETS", "toolsets"),
    )
    tools: CommaList | None = Field(
        None,
        title="Tools",
        description="Comma-separated tool names to allow; the others are hidden.",
        json_schema_extra=_shown("all"),
        validation_alias=_env("CHANNEL_MCP_TOOLS", "tools"),
    )
    exclude_tools: CommaList | None = Field(
        None,
        title="Excluded tools",
        description="Comma-separated tool names to deny.",
        json_schema_extra=_shown("none"),
        validation_alias=_env("CHANNEL_MCP_EXCLUDE_TOOLS", "exclude_tools"),
    )
    read_only: bool = Field(
        False,
        title="Read-only",
        description="Offer read-only tools only (always wins over the tool lists).",
        validation_alias=_env("CHANNEL_MCP_READ_ONLY", "read_only"),
    )
    confirm: Literal["auto", "never"] = Field(
        "auto",
        title="Delete confirmation",
        description="`auto` asks the user before a destructive tool runs; `never` turns that off (see Safety).",
        validation_alias=_env("CHANNEL_MCP_CONFIRM", "confirm"),
    )

    timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        title="Timeout (seconds)",
        description="Seconds per upstream call, retries included.",
        validation_alias=_env("CHANNEL_MCP_TIMEOUT", "timeout"),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO",
        title="Log level",
        description="Log level; logs go to stderr only.",
        validation_alias=_env("CHANNEL_MCP_LOG_LEVEL", "log_level"),
    )
    max_result_chars: int = Field(
        100_000,
        ge=2_000,
        title="Result budget (characters)",
        description="Budget for one tool result or resource (about 25k tokens).",
        validation_alias=_env("CHANNEL_MCP_MAX_RESULT_CHARS", "max_result_chars"),
    )
    csv_budget: int = Field(
        50_000,
        ge=1_000,
        title="CSV budget (characters)",
        description="Largest CSV export returned whole; above it, a preview.",
        validation_alias=_env("CHANNEL_MCP_CSV_BUDGET", "csv_budget"),
    )
    audit_log: Path | None = Field(
        None,
        title="Audit log file",
        description="Append one JSON line per write or delete to this file.",
        validation_alias=_env("CHANNEL_MCP_AUDIT_LOG", "audit_log"),
    )

    http_token: SecretStr | None = Field(
        None,
        title="HTTP bearer token",
        description="Bearer token HTTP mode requires (mandatory off loopback).",
        # A pod binds 0.0.0.0, where the server refuses to start without it.
        json_schema_extra={"required_in_cluster": True},
        validation_alias=_env("CHANNEL_MCP_HTTP_TOKEN", "http_token"),
    )
    # Seals the state a 2026-07-28 client echoes back when it answers a confirmation question. Replicas
    # behind one load balancer must share it, or an answer that lands on another replica is refused.
    request_state_key: SecretStr | None = Field(
        None,
        title="Request state key",
        description="HTTP mode: seals confirmation state; give all replicas the same one (≥ 32 characters).",
        json_schema_extra=_shown("per process", required_in_cluster=True),
        validation_alias=_env("CHANNEL_MCP_REQUEST_STATE_KEY", "request_state_key"),
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        title="Allowed origins",
        description="HTTP mode: comma-separated extra browser origins to accept.",
        json_schema_extra=_shown("loopback"),
        validation_alias=_env("CHANNEL_MCP_ALLOWED_ORIGINS", "allowed_origins"),
    )
    max_body_bytes: int = Field(
        1_000_000,
        ge=1_024,
        title="Largest HTTP body (bytes)",
        description="HTTP mode: largest request body; larger gets 413.",
        validation_alias=_env("CHANNEL_MCP_MAX_BODY_BYTES", "max_body_bytes"),
    )

    @field_validator("toolsets", "tools", "exclude_tools", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("request_state_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(len(k.strip()) < 32 for k in value.get_secret_value().split(",") if k.strip()):
            raise ValueError("each key must be at least 32 characters of random text")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @property
    def imbrace_configured(self) -> bool:
        return self.sandbox or self.imbrace_api_key is not None or self.imbrace_access_token is not None

    @property
    def bird_configured(self) -> bool:
        return self.sandbox or self.bird_access_key is not None

    def secret_values(self) -> list[str]:
        """Every configured secret, for the log and output redactors."""
        secrets = (
            self.imbrace_api_key,
            self.imbrace_access_token,
            self.bird_access_key,
            self.http_token,
            self.request_state_key,
        )
        return [s.get_secret_value() for s in secrets if s is not None and s.get_secret_value()]

    # HTTP mode on an open network: deadlines for slow clients and a cap on open connections.
    http_header_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        title="HTTP header timeout (seconds)",
        description="HTTP mode: seconds a request line and headers may take to arrive; then 408 and close.",
        validation_alias=_env("CHANNEL_MCP_HTTP_HEADER_TIMEOUT", "http_header_timeout"),
    )
    http_body_timeout: float = Field(
        30.0,
        gt=0,
        le=600,
        title="HTTP body timeout (seconds)",
        description="HTTP mode: seconds a request body may take once the headers are in; then 408 and close.",
        validation_alias=_env("CHANNEL_MCP_HTTP_BODY_TIMEOUT", "http_body_timeout"),
    )
    http_keep_alive_timeout: int = Field(  # whole seconds: uvicorn's setting is an int
        5,
        ge=1,
        le=300,
        title="HTTP keep-alive timeout (seconds)",
        description="HTTP mode: whole seconds an idle keep-alive connection stays open.",
        validation_alias=_env("CHANNEL_MCP_HTTP_KEEP_ALIVE_TIMEOUT", "http_keep_alive_timeout"),
    )
    http_max_connections: int = Field(
        10_000,
        ge=1,
        title="HTTP connection cap",
        description="HTTP mode: open connections at most (lowered to fit the open-file limit); past it, 503.",
        validation_alias=_env("CHANNEL_MCP_HTTP_MAX_CONNECTIONS", "http_max_connections"),
    )

    # ---- HTTP authentication (issue 19): CHANNEL_MCP_AUTH and oauth mode; see channel_mcp.serving.auth ----
    # Unset keeps the original rule: the static token when CHANNEL_MCP_HTTP_TOKEN is set, else none.
    auth: Literal["none", "token", "oauth"] | None = Field(
        None,
        title="HTTP authentication mode",
        description="HTTP mode: none (loopback only), token or oauth; unset: token when one is set.",
        validation_alias=_env("CHANNEL_MCP_AUTH", "auth"),
    )
    oauth_issuer: str | None = Field(
        None,
        title="OAuth issuer",
        description="oauth mode: the authorization server's issuer URL (discovered via RFC 8414 or OIDC).",
        validation_alias=_env("CHANNEL_MCP_OAUTH_ISSUER", "oauth_issuer"),
    )
    # This server's canonical URL: the audience (RFC 8707 resource) every accepted token must name.
    resource_url: str | None = Field(
        None,
        title="Resource URL",
        description="oauth mode: this server's canonical URL; tokens must name it as audience.",
        validation_alias=_env("CHANNEL_MCP_RESOURCE_URL", "resource_url"),
    )
    oauth_jwks_url: str | None = Field(
        None,
        title="JWKS URL override",
        description="oauth mode: the issuer's key set URL, when discovery should not be used.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_JWKS_URL", "oauth_jwks_url"),
    )
    oauth_algorithms: CommaList = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256"],
        title="Accepted token algorithms",
        description="oauth mode: comma-separated JWT signing algorithms to accept.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_ALGORITHMS", "oauth_algorithms"),
    )
    oauth_clock_skew: float = Field(
        30.0,
        ge=0,
        le=600,
        title="Clock skew (seconds)",
        description="oauth mode: leeway for exp and nbf.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_CLOCK_SKEW", "oauth_clock_skew"),
    )
    # An unknown key id triggers a JWKS refetch at most this often, so forged tokens cannot hammer the issuer.
    oauth_jwks_refetch_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        title="JWKS refetch interval (seconds)",
        description="oauth mode: an unknown key id refetches the key set at most this often.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_JWKS_REFETCH_SECONDS", "oauth_jwks_refetch_seconds"),
    )
    # RFC 9068 tokens say `typ: at+jwt`; some issuers (Entra, older Keycloak) send plain `JWT`.
    oauth_accept_plain_jwt: bool = Field(
        False,
        title="Accept typ JWT",
        description="oauth mode: also accept access tokens whose typ is plain JWT (Entra, older Keycloak).",
        validation_alias=_env("CHANNEL_MCP_OAUTH_ACCEPT_PLAIN_JWT", "oauth_accept_plain_jwt"),
    )
    oauth_introspection_url: str | None = Field(
        None,
        title="Introspection endpoint",
        description="oauth mode: RFC 7662 endpoint for opaque tokens.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_INTROSPECTION_URL", "oauth_introspection_url"),
    )
    oauth_client_id: str | None = Field(
        None,
        title="Introspection client id",
        description="oauth mode: client id for the introspection endpoint.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_CLIENT_ID", "oauth_client_id"),
    )
    oauth_client_secret: SecretStr | None = Field(
        None,
        title="Introspection client secret",
        description="oauth mode: client secret for the introspection endpoint. Secret.",
        validation_alias=_env("CHANNEL_MCP_OAUTH_CLIENT_SECRET", "oauth_client_secret"),
    )
    tenants_file: Path | None = Field(
        None,
        title="Tenants file",
        description="HTTP mode: JSON file mapping a token claim to each tenant's upstream keys (mount from a Secret).",
        validation_alias=_env("CHANNEL_MCP_TENANTS_FILE", "tenants_file"),
    )
    # Per-request upstream keys in X-Imbrace-Api-Key / X-Bird-Access-Key / X-Bird-Workspace-Id headers.
    client_keys: bool = Field(
        False,
        title="Client-held keys",
        description="HTTP mode: accept per-request upstream keys in X-Imbrace-Api-Key / X-Bird-* headers.",
        validation_alias=_env("CHANNEL_MCP_CLIENT_KEYS", "client_keys"),
    )

    @field_validator("oauth_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
