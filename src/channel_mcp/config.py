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


class Settings(BaseSettings):
    """Everything channel-mcp reads from its environment. Field names double as CLI flag names."""

    model_config = SettingsConfigDict(populate_by_name=True, extra="ignore", env_ignore_empty=True)

    imbrace_api_key: SecretStr | None = Field(None, validation_alias=_env("IMBRACE_API_KEY", "imbrace_api_key"))
    imbrace_access_token: SecretStr | None = Field(
        None, validation_alias=_env("IMBRACE_ACCESS_TOKEN", "imbrace_access_token")
    )
    imbrace_organization_id: str | None = Field(
        None, validation_alias=_env("IMBRACE_ORGANIZATION_ID", "imbrace_organization_id")
    )
    imbrace_gateway_url: str | None = Field(None, validation_alias=_env("IMBRACE_GATEWAY_URL", "imbrace_gateway_url"))
    imbrace_env: Literal["stable", "sandbox", "develop"] | None = Field(
        None, validation_alias=_env("IMBRACE_ENV", "imbrace_env")
    )

    bird_access_key: SecretStr | None = Field(None, validation_alias=_env("BIRD_ACCESS_KEY", "bird_access_key"))
    bird_workspace_id: str | None = Field(None, validation_alias=_env("BIRD_WORKSPACE_ID", "bird_workspace_id"))
    bird_api_url: str = Field(DEFAULT_BIRD_API_URL, validation_alias=_env("BIRD_API_URL", "bird_api_url"))

    sandbox: bool = Field(False, validation_alias=_env("CHANNEL_MCP_SANDBOX", "sandbox"))
    toolsets: CommaList | None = Field(None, validation_alias=_env("CHANNEL_MCP_TOOLSETS", "toolsets"))
    tools: CommaList | None = Field(None, validation_alias=_env("CHANNEL_MCP_TOOLS", "tools"))
    exclude_tools: CommaList | None = Field(None, validation_alias=_env("CHANNEL_MCP_EXCLUDE_TOOLS", "exclude_tools"))
    read_only: bool = Field(False, validation_alias=_env("CHANNEL_MCP_READ_ONLY", "read_only"))
    confirm: Literal["auto", "never"] = Field("auto", validation_alias=_env("CHANNEL_MCP_CONFIRM", "confirm"))

    timeout: float = Field(30.0, gt=0, le=600, validation_alias=_env("CHANNEL_MCP_TIMEOUT", "timeout"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", validation_alias=_env("CHANNEL_MCP_LOG_LEVEL", "log_level")
    )
    max_result_chars: int = Field(
        100_000, ge=2_000, validation_alias=_env("CHANNEL_MCP_MAX_RESULT_CHARS", "max_result_chars")
    )
    csv_budget: int = Field(50_000, ge=1_000, validation_alias=_env("CHANNEL_MCP_CSV_BUDGET", "csv_budget"))
    audit_log: Path | None = Field(None, validation_alias=_env("CHANNEL_MCP_AUDIT_LOG", "audit_log"))

    http_token: SecretStr | None = Field(None, validation_alias=_env("CHANNEL_MCP_HTTP_TOKEN", "http_token"))
    # Seals the state a 2026-07-28 client echoes back when it answers a confirmation question. Replicas
    # behind one load balancer must share it, or an answer that lands on another replica is refused.
    request_state_key: SecretStr | None = Field(
        None, validation_alias=_env("CHANNEL_MCP_REQUEST_STATE_KEY", "request_state_key")
    )
    allowed_origins: CommaList = Field(
        default_factory=list, validation_alias=_env("CHANNEL_MCP_ALLOWED_ORIGINS", "allowed_origins")
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1_024, validation_alias=_env("CHANNEL_MCP_MAX_BODY_BYTES", "max_body_bytes")
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

    @property
    def imbrace_base_url(self) -> str:
        gateway = self.imbrace_gateway_url or IMBRACE_GATEWAYS[self.imbrace_env or "stable"]
        return gateway.rstrip("/") + "/channel-service"

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

    # ---- HTTP authentication (issue 19): CHANNEL_MCP_AUTH and oauth mode; see channel_mcp.auth ----
    # Unset keeps the original rule: the static token when CHANNEL_MCP_HTTP_TOKEN is set, else none.
    auth: Literal["none", "token", "oauth"] | None = Field(None, validation_alias=_env("CHANNEL_MCP_AUTH", "auth"))
    oauth_issuer: str | None = Field(None, validation_alias=_env("CHANNEL_MCP_OAUTH_ISSUER", "oauth_issuer"))
    # This server's canonical URL: the audience (RFC 8707 resource) every accepted token must name.
    resource_url: str | None = Field(None, validation_alias=_env("CHANNEL_MCP_RESOURCE_URL", "resource_url"))
    oauth_jwks_url: str | None = Field(None, validation_alias=_env("CHANNEL_MCP_OAUTH_JWKS_URL", "oauth_jwks_url"))
    oauth_algorithms: CommaList = Field(
        default_factory=lambda: ["RS256", "PS256", "ES256"],
        validation_alias=_env("CHANNEL_MCP_OAUTH_ALGORITHMS", "oauth_algorithms"),
    )
    oauth_clock_skew: float = Field(
        30.0, ge=0, le=600, validation_alias=_env("CHANNEL_MCP_OAUTH_CLOCK_SKEW", "oauth_clock_skew")
    )
    # An unknown key id triggers a JWKS refetch at most this often, so forged tokens cannot hammer the issuer.
    oauth_jwks_refetch_seconds: float = Field(
        60.0,
        ge=0,
        le=3600,
        validation_alias=_env("CHANNEL_MCP_OAUTH_JWKS_REFETCH_SECONDS", "oauth_jwks_refetch_seconds"),
    )
    # RFC 9068 tokens say `typ: at+jwt`; some issuers (Entra, older Keycloak) send plain `JWT`.
    oauth_accept_plain_jwt: bool = Field(
        False, validation_alias=_env("CHANNEL_MCP_OAUTH_ACCEPT_PLAIN_JWT", "oauth_accept_plain_jwt")
    )
    oauth_introspection_url: str | None = Field(
        None, validation_alias=_env("CHANNEL_MCP_OAUTH_INTROSPECTION_URL", "oauth_introspection_url")
    )
    oauth_client_id: str | None = Field(None, validation_alias=_env("CHANNEL_MCP_OAUTH_CLIENT_ID", "oauth_client_id"))
    oauth_client_secret: SecretStr | None = Field(
        None, validation_alias=_env("CHANNEL_MCP_OAUTH_CLIENT_SECRET", "oauth_client_secret")
    )
    tenants_file: Path | None = Field(None, validation_alias=_env("CHANNEL_MCP_TENANTS_FILE", "tenants_file"))
    # Per-request upstream keys in X-Imbrace-Api-Key / X-Bird-Access-Key / X-Bird-Workspace-Id headers.
    client_keys: bool = Field(False, validation_alias=_env("CHANNEL_MCP_CLIENT_KEYS", "client_keys"))

    @field_validator("oauth_algorithms", mode="before")
    @classmethod
    def _split_algorithms(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value
