"""Distribution manifests: MCP Registry server.json, MCPB bundle, client configs, Kubernetes.

Everything here runs offline. The MCPB manifest is validated against the v0.3 schema kept in
tests/data; server.json against a hand-written encoding of the MCP Registry's 2025-12-11 rules
(tests/data/mcp-registry-server-2025-12-11.rules.schema.json) plus explicit assertions for the
rules the official registry adds on top; Kubernetes objects against the schemas that ship with
kubernetes-validate.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from channel_mcp.manifests import TOOLS_END, TOOLS_START, settings_spec
from channel_mcp.tools import ALL_TOOLS

FIX = "run `.venv/bin/python -m channel_mcp.manifests --write` and commit the result"
ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "manifests"
DATA = Path(__file__).resolve().parent / "data"
K8S = MANIFESTS / "kubernetes"
MCPB = MANIFESTS / "mcpb"
CLIENTS = MANIFESTS / "clients"

REGISTRY_SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
SERVER_NAME = "io.github.channel-mcp/channel-mcp"
DISTRIBUTION = "channel-mcp"
COMMAND = "channel-mcp"

# The product's configuration surface, from the settings model: manifests must not invent other variables.
SPECS = settings_spec()
KNOWN_ENV_VARS = frozenset(s.env for s in SPECS)
SECRET_ENV_VARS = frozenset(s.env for s in SPECS if s.secret)
PROVIDER_SECRETS = frozenset({"IMBRACE_API_KEY", "IMBRACE_ACCESS_TOKEN", "BIRD_ACCESS_KEY"})
LAUNCHER = "uvx"

# The tool registry is the one list of tools: the manifests and the README follow it.
TOOLS = ALL_TOOLS
PROMPTS = frozenset({"audit_channels", "contact_360", "whatsapp_send_check"})

# Kubernetes versions to validate against: the oldest the pinned kubernetes-validate range
# always ships, and the newest the installed copy knows.
K8S_VERSIONS = sorted({"1.30", kubernetes_validate.latest_version()})

SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
PLACEHOLDER = re.compile(r"^<[^<>]+>$")
ENV_REFERENCE = re.compile(r"^\$\{env:([A-Z][A-Z0-9_]*)\}$")
INPUT_REFERENCE = re.compile(r"\$\{input:([A-Za-z0-9_.-]+)\}")
USER_CONFIG_REFERENCE = re.compile(r"\$\{user_config\.([A-Za-z0-9_]+)\}")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def load_yaml_one(path: Path) -> dict[str, Any]:
    [doc] = load_yaml_documents(path)
    return doc


def package_version() -> str:
    text = (ROOT / "src" / "channel_mcp" / "_version.py").read_text(encoding="utf-8")
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.MULTILINE)
    assert match, "src/channel_mcp/_version.py must define __version__"
    return match.group(1)


def validator_for(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = validator_for(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(instance)]


@pytest.fixture(scope="module")
def server_json() -> dict[str, Any]:
    data: dict[str, Any] = load_json(MANIFESTS / "server.json")
    return data


@pytest.fixture(scope="module")
def registry_rules() -> dict[str, Any]:
    data: dict[str, Any] = load_json(DATA / "mcp-registry-server-2025-12-11.rules.schema.json")
    return data


@pytest.fixture(scope="module")
def mcpb_manifest() -> dict[str, Any]:
    data: dict[str, Any] = load_json(MCPB / "manifest.json")
    return data


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    return load_yaml_one(K8S / "deployment.yaml")


@pytest.fixture(scope="module")
def container(deployment: dict[str, Any]) -> dict[str, Any]:
    [main] = deployment["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = main
    return found


# --------------------------------------------------------------------------- versions


def test_pyproject_takes_its_version_from_the_version_file() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == DISTRIBUTION
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/channel_mcp/_version.py"
    assert pyproject["project"]["scripts"][COMMAND] == "channel_mcp.cli:main"
    assert SEMVER.match(package_version())


def test_licence_is_declared_once_and_shipped() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # A PEP 639 expression, not the deprecated table or a classifier, and the file goes into wheel and sdist.
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in pyproject["project"].get("classifiers", []))
    assert "/LICENSE" in pyproject["tool"]["hatch"]["build"]["targets"]["sdist"]["include"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "channel-mcp developers" in text


def test_changelog_keeps_a_changelog() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    assert "## [Unreleased]" in text
    assert f"## [{package_version()}]" in text, "the current version needs a CHANGELOG section"
    assert f"[{package_version()}]: https://" in text


def test_every_manifest_carries_the_package_version(
    server_json: dict[str, Any], mcpb_manifest: dict[str, Any], deployment: dict[str, Any], container: dict[str, Any]
) -> None:
    version = package_version()
    assert server_json["version"] == version
    assert [p["version"] for p in server_json["packages"]] == [version]
    assert mcpb_manifest["version"] == version
    assert container["image"].rsplit(":", 1)[1] == version
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == version
    assert f'org.opencontainers.image.version="{version}"' in (K8S / "Containerfile").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- server.json (MCP Registry)


def test_server_json_satisfies_the_registry_schema_rules(
    server_json: dict[str, Any], registry_rules: dict[str, Any]
) -> None:
    assert schema_errors(registry_rules, server_json) == []


@pytest.mark.parametrize(
    ("field", "bad_value"),
    [
        ("name", "io.github.channel-mcp/channel/mcp"),
        ("name", "channel-mcp"),
        ("name", "io.github.channel mcp/channel-mcp"),
        ("description", ""),
        ("description", "x" * 101),
    ],
)
def test_registry_rules_reject_what_the_registry_rejects(
    server_json: dict[str, Any], registry_rules: dict[str, Any], field: str, bad_value: str
) -> None:
    # Guards the hand-written rules file itself: each mutation must be caught.
    assert schema_errors(registry_rules, {**server_json, field: bad_value})


def test_registry_rules_reject_latest_and_missing_transport(
    server_json: dict[str, Any], registry_rules: dict[str, Any]
) -> None:
    [package] = server_json["packages"]
    assert schema_errors(registry_rules, {**server_json, "packages": [{**package, "version": "latest"}]})
    no_transport = {k: v for k, v in package.items() if k != "transport"}
    assert schema_errors(registry_rules, {**server_json, "packages": [no_transport]})


def test_server_json_identity(server_json: dict[str, Any]) -> None:
    assert server_json["$schema"] == REGISTRY_SCHEMA_URL
    assert server_json["name"] == SERVER_NAME
    assert server_json["name"].count("/") == 1
    assert re.fullmatch(r"[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+", server_json["name"])
    assert 1 <= len(server_json["description"]) <= 100
    assert 1 <= len(server_json.get("title", "x")) <= 100
    # The registry rejects ranges; it sorts semver properly.
    assert SEMVER.match(server_json["version"])
    repository = server_json["repository"]
    assert repository["source"] == "github"
    assert repository["url"].startswith("https://github.com/")
    # io.github.<owner>/... is authenticated against the GitHub owner of the repository.
    owner = server_json["name"].split("/")[0].removeprefix("io.github.")
    assert repository["url"].split("/")[3] == owner


def test_server_json_pypi_package(server_json: dict[str, Any]) -> None:
    [package] = server_json["packages"]
    assert package["registryType"] == "pypi"
    # The official registry accepts PyPI packages from pypi.org only.
    assert package.get("registryBaseUrl", "https://pypi.org") == "https://pypi.org"
    assert package["identifier"] == DISTRIBUTION
    assert package["runtimeHint"] == "uvx"
    assert package["transport"] == {"type": "stdio"}
    assert SEMVER.match(package["version"])
    assert "fileSha256" not in package
    # uvx channel-mcp <packageArguments>: fixed values only, and it must run the stdio server.
    arguments = package.get("packageArguments", [])
    assert [a.get("value") for a in arguments if a["type"] == "positional"] == ["serve"]
    assert all("value" in a for a in arguments)


def test_server_json_environment_variables(server_json: dict[str, Any]) -> None:
    [package] = server_json["packages"]
    variables = package["environmentVariables"]
    names = [v["name"] for v in variables]
    assert len(names) == len(set(names))
    assert set(names) <= KNOWN_ENV_VARS
    assert set(names) >= PROVIDER_SECRETS
    for variable in variables:
        assert variable.get("description", "").strip(), variable["name"]
        # Nothing is required: the sandbox runs without any account.
        assert variable["isRequired"] is False, variable["name"]
        assert variable["isSecret"] is (variable["name"] in SECRET_ENV_VARS), variable["name"]
        assert "value" not in variable, "fixed values would stop users from configuring the server"
        if "choices" in variable and "default" in variable:
            assert variable["default"] in variable["choices"]


def test_server_json_meta_is_limited_to_publisher_provided(server_json: dict[str, Any]) -> None:
    meta = server_json.get("_meta", {})
    assert set(meta) <= {"io.modelcontextprotocol.registry/publisher-provided"}
    assert len(json.dumps(meta.get("io.modelcontextprotocol.registry/publisher-provided", {}))) <= 4096


# --------------------------------------------------------------------------- MCPB bundle


def test_mcpb_manifest_validates_against_the_v0_3_schema(mcpb_manifest: dict[str, Any]) -> None:
    schema = load_json(DATA / "mcpb-manifest-v0.3.schema.json")
    assert schema["properties"]["manifest_version"]["const"] == "0.3"
    assert schema_errors(schema, mcpb_manifest) == []


def test_mcpb_server_runs_the_bundled_launcher(mcpb_manifest: dict[str, Any]) -> None:
    assert mcpb_manifest["manifest_version"] == "0.3"
    assert mcpb_manifest["name"] == DISTRIBUTION
    server = mcpb_manifest["server"]
    assert server["type"] == "python"
    assert (MCPB / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "python"
    assert config["args"][0] == "${__dirname}/" + server["entry_point"]
    assert config["env"]["PYTHONPATH"] == "${__dirname}/server/lib"
    assert mcpb_manifest["compatibility"]["runtimes"]["python"] == ">=3.11"


def test_mcpb_user_config_is_wired_and_secrets_are_sensitive(mcpb_manifest: dict[str, Any]) -> None:
    user_config = mcpb_manifest["user_config"]
    config = mcpb_manifest["server"]["mcp_config"]
    referenced = set(USER_CONFIG_REFERENCE.findall(json.dumps(config)))
    assert referenced == set(user_config), "every option is used and every reference is declared"

    env = config["env"]
    assert set(env) - {"PYTHONPATH"} <= KNOWN_ENV_VARS
    for name, value in env.items():
        keys = USER_CONFIG_REFERENCE.findall(value)
        if name in SECRET_ENV_VARS:
            [key] = keys
            assert user_config[key]["sensitive"] is True, name
            assert user_config[key]["type"] == "string"
    sensitive = {key for key, option in user_config.items() if option.get("sensitive")}
    assert sensitive == {s.field for s in SPECS if s.secret}
    for key, option in user_config.items():
        # Nothing is required: the sandbox option works without any account.
        assert option.get("required", False) is False, key
        assert "default" not in option or not option.get("sensitive"), key


def test_mcpb_lists_the_registry_tools_and_prompts(mcpb_manifest: dict[str, Any]) -> None:
    names = [tool["name"] for tool in mcpb_manifest["tools"]]
    assert len(names) == len(set(names))
    assert names == [spec.name for spec in TOOLS], FIX
    assert mcpb_manifest["tools"] == [{"name": s.name, "description": s.description} for s in TOOLS], FIX
    assert all(tool.get("description", "").strip() for tool in mcpb_manifest["tools"])
    assert mcpb_manifest.get("tools_generated", False) is False

    # Tool snapshots (one committed file per tool) are the package's own record of its tool list.
    snapshots = Path(__file__).resolve().parent / "toolsnaps"
    if snapshots.is_dir():
        snapped = {
            p.name.split(".")[0]
            for p in snapshots.rglob("*")
            if p.is_file() and re.match(r"^(imbrace|bird)_[a-z0-9_]+\.", p.name)
        }
        if snapped:
            assert snapped == set(names)

    prompts = {prompt["name"]: prompt for prompt in mcpb_manifest["prompts"]}
    assert set(prompts) == PROMPTS
    for prompt in prompts.values():
        used = set(re.findall(r"\$\{arguments\.([A-Za-z0-9_]+)\}", prompt["text"]))
        assert used == set(prompt.get("arguments", [])), prompt["name"]


def _load_launcher() -> ModuleType:
    spec = importlib.util.spec_from_file_location("channel_mcp_mcpb_launcher", MCPB / "server" / "main.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--sandbox=true"], ["channel-mcp", "serve", "--sandbox"]),
        (["--sandbox=True"], ["channel-mcp", "serve", "--sandbox"]),
        (["--sandbox=false"], ["channel-mcp", "serve"]),
        (["--sandbox="], ["channel-mcp", "serve"]),
        ([], ["channel-mcp", "serve"]),
    ],
)
def test_mcpb_launcher_translates_the_sandbox_option(argv: list[str], expected: list[str]) -> None:
    assert _load_launcher().build_argv(argv) == expected


def test_mcpb_launcher_rejects_unknown_arguments() -> None:
    with pytest.raises(SystemExit):
        _load_launcher().build_argv(["--transport=http"])


def test_mcpb_launcher_runs_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    import channel_mcp.cli

    seen: list[list[str]] = []
    monkeypatch.setattr(channel_mcp.cli, "main", lambda *a, **k: seen.append(list(sys.argv)))
    monkeypatch.setattr(sys, "argv", ["server/main.py", "--sandbox=true"])
    _load_launcher().main()
    assert seen == [["channel-mcp", "serve", "--sandbox"]]


# --------------------------------------------------------------------------- client configs


def _assert_no_credentials(env: dict[str, str]) -> None:
    for name, value in env.items():
        assert name in KNOWN_ENV_VARS, name
        if name in SECRET_ENV_VARS or name.endswith(("_ID", "_KEY", "_TOKEN")):
            assert PLACEHOLDER.match(value) or ENV_REFERENCE.match(value) or INPUT_REFERENCE.fullmatch(value), (
                f"{name} must be a placeholder or a reference, not a value"
            )


def _assert_stdio_entries(servers: dict[str, Any]) -> None:
    stdio = {name: s for name, s in servers.items() if "command" in s}
    assert stdio
    for name, entry in stdio.items():
        # The launcher form: works without channel-mcp on PATH (uvx fetches and caches it).
        assert entry["command"] == LAUNCHER, name
        assert entry["args"][:2] == [DISTRIBUTION, "serve"], name
        _assert_no_credentials(entry.get("env", {}))
    sandbox = [s for s in stdio.values() if s["args"] == [DISTRIBUTION, "serve", "--sandbox"]]
    assert len(sandbox) == 1 and not sandbox[0].get("env")
    real = [s for s in stdio.values() if s["args"] == [DISTRIBUTION, "serve"]]
    assert len(real) == 1 and PROVIDER_SECRETS - {"IMBRACE_ACCESS_TOKEN"} <= set(real[0]["env"])


def test_claude_desktop_config() -> None:
    config = load_json(CLIENTS / "claude_desktop_config.json")
    servers = config["mcpServers"]
    _assert_stdio_entries(servers)
    real = next(s for s in servers.values() if s["args"] == [DISTRIBUTION, "serve"])
    assert real["env"]["IMBRACE_API_KEY"] == "<your iMBRACE API key>"
    assert all(PLACEHOLDER.match(value) for value in real["env"].values())


def test_cursor_config() -> None:
    config = load_json(CLIENTS / "cursor.json")
    servers = config["mcpServers"]
    _assert_stdio_entries(servers)
    for entry in servers.values():
        assert entry.get("type", "stdio") == "stdio"
        for name, value in entry.get("env", {}).items():
            match = ENV_REFERENCE.match(value)
            assert match and match.group(1) == name, f"{name} should come from the user's environment"


def test_vscode_config() -> None:
    config = load_json(CLIENTS / "vscode.json")
    assert "mcpServers" not in config
    servers = config["servers"]
    _assert_stdio_entries(servers)
    inputs = {item["id"]: item for item in config["inputs"]}
    assert all(item["type"] == "promptString" for item in inputs.values())
    referenced = set(INPUT_REFERENCE.findall(json.dumps(servers)))
    assert referenced == set(inputs), "every input is used and every ${input:...} is declared"
    for entry in servers.values():
        assert entry["type"] in {"stdio", "http"}
        for name, value in entry.get("env", {}).items():
            [input_id] = INPUT_REFERENCE.findall(value)
            assert inputs[input_id].get("password", False) is (name in SECRET_ENV_VARS), name
        for header in entry.get("headers", {}).values():
            for input_id in INPUT_REFERENCE.findall(header):
                assert inputs[input_id]["password"] is True
    remote = [s for s in servers.values() if s["type"] == "http"]
    for entry in remote:
        assert entry["url"].startswith("https://") and entry["url"].endswith("/mcp")
        assert entry["headers"]["Authorization"].startswith("Bearer ${input:")


# --------------------------------------------------------------------------- Kubernetes

K8S_FILES = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@pytest.mark.parametrize("k8s_version", K8S_VERSIONS)
@pytest.mark.parametrize("filename", K8S_FILES)
def test_kubernetes_objects_validate_strictly(filename: str, k8s_version: str) -> None:
    documents = load_yaml_documents(K8S / filename)
    assert documents
    for document in documents:
        kubernetes_validate.validate(document, k8s_version, strict=True)
        assert document["metadata"]["labels"]["app.kubernetes.io/name"] == "channel-mcp"


def test_kustomization_applies_everything_but_the_example_secret() -> None:
    kustomization = load_yaml_one(K8S / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert all((K8S / r).is_file() for r in resources)
    assert set(resources) == set(K8S_FILES) - {"secret.example.yaml"}


def test_deployment_runs_the_http_server(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    assert deployment["spec"]["replicas"] >= 2
    command = [*container["command"], *container["args"]]
    assert command[:2] == [COMMAND, "serve"]
    flags = dict(zip(command[2::2], command[3::2], strict=True))
    assert flags["--transport"] == "http"
    assert flags["--host"] == "0.0.0.0"
    assert flags["--port"] == "8000"
    [port] = container["ports"]
    assert port["containerPort"] == 8000 and port["name"] == "http"
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["terminationGracePeriodSeconds"] > 0
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_deployment_probes(container: dict[str, Any]) -> None:
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        if probe in container:
            assert container[probe]["httpGet"]["port"] in {"http", 8000}


def test_deployment_is_locked_down(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    pod_spec = deployment["spec"]["template"]["spec"]
    pod_security = pod_spec["securityContext"]
    assert pod_security["runAsNonRoot"] is True
    assert pod_security["runAsUser"] > 0
    assert pod_security["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod_spec["automountServiceAccountToken"] is False

    security = container["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security.get("runAsUser", pod_security["runAsUser"]) > 0
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]
    assert security.get("privileged", False) is False
    assert security.get("seccompProfile", pod_security["seccompProfile"])["type"] == "RuntimeDefault"

    # A read-only root needs somewhere writable for temporary files.
    volumes = {v["name"]: v for v in pod_spec["volumes"]}
    [tmp] = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
    assert "emptyDir" in volumes[tmp["name"]]

    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), kind


def test_deployment_reads_secrets_from_the_secret(container: dict[str, Any]) -> None:
    secret = load_yaml_one(K8S / "secret.example.yaml")
    env = {item["name"]: item for item in container["env"]}
    assert set(env) <= KNOWN_ENV_VARS
    for name in ("IMBRACE_API_KEY", "BIRD_ACCESS_KEY", "CHANNEL_MCP_HTTP_TOKEN", "CHANNEL_MCP_REQUEST_STATE_KEY"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == secret["metadata"]["name"]
        assert ref["key"] in secret["stringData"]
    # Without the token the server would refuse to bind 0.0.0.0, so it must not be optional.
    assert env["CHANNEL_MCP_HTTP_TOKEN"]["valueFrom"]["secretKeyRef"].get("optional", False) is False
    for name in SECRET_ENV_VARS & set(env):
        assert "value" not in env[name], f"{name} must come from a Secret"
    # Plain settings come from the generated ConfigMap only: no Secret is imported wholesale.
    assert container["envFrom"] == [
        {"configMapRef": {"name": load_yaml_one(K8S / "configmap.yaml")["metadata"]["name"]}}
    ]


def test_example_secret_holds_placeholders_only() -> None:
    secret = load_yaml_one(K8S / "secret.example.yaml")
    assert secret["kind"] == "Secret"
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert key in KNOWN_ENV_VARS
        assert PLACEHOLDER.match(value), f"{key} must be a <placeholder>"


def test_service_hpa_pdb_and_policy_target_the_deployment(
    deployment: dict[str, Any], container: dict[str, Any]
) -> None:
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    name = deployment["metadata"]["name"]

    service = load_yaml_one(K8S / "service.yaml")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    [port] = service["spec"]["ports"]
    assert port["targetPort"] in {"http", 8000}

    hpa = load_yaml_one(K8S / "hpa.yaml")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] >= hpa["spec"]["minReplicas"]
    # Utilization targets are relative to requests, so the container must set them.
    assert "cpu" in container["resources"]["requests"]

    pdb = load_yaml_one(K8S / "pdb.yaml")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]

    policy = load_yaml_one(K8S / "networkpolicy.yaml")
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    ingress_ports = {(p["protocol"], p["port"]) for rule in spec["ingress"] for p in rule["ports"]}
    assert ingress_ports == {("TCP", 8000)}
    egress_ports = {(p["protocol"], p["port"]) for rule in spec["egress"] for p in rule["ports"]}
    assert egress_ports == {("UDP", 53), ("TCP", 53), ("TCP", 443)}


def _containerfile_instructions() -> list[tuple[str, str]]:
    text = (K8S / "Containerfile").read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_containerfile(deployment: dict[str, Any], container: dict[str, Any]) -> None:
    instructions = _containerfile_instructions()
    froms = [rest.split()[0] for keyword, rest in instructions if keyword == "FROM"]
    assert froms and all(image == "python:3.11-slim" for image in froms)

    final_stage = instructions[max(i for i, (k, _) in enumerate(instructions) if k == "FROM") :]
    users = [rest for keyword, rest in final_stage if keyword == "USER"]
    assert users, "the runtime stage must drop root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric UID so runAsNonRoot can verify it"
    assert int(uid) == deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]

    assert ("EXPOSE", "8000") in final_stage
    assert any(k == "RUN" and "pip install" in rest and " ." in rest for k, rest in instructions)
    [entrypoint] = [json.loads(rest) for keyword, rest in final_stage if keyword == "ENTRYPOINT"]
    [cmd] = [json.loads(rest) for keyword, rest in final_stage if keyword == "CMD"]
    assert entrypoint == [COMMAND]
    assert [*entrypoint, *cmd] == [*container["command"], *container["args"]]


# --------------------------------------------------------------------------- one source: the settings model

"run `.venv/bin/python -m channel_mcp.manifests --write` and commit the result"


def test_every_settings_field_is_declared() -> None:
    # The list comes from the model itself: a new field cannot be missed by the manifests below.
    from channel_mcp.config import Settings

    assert [s.field for s in SPECS] == list(Settings.model_fields)
    assert "CHANNEL_MCP_SANDBOX" in KNOWN_ENV_VARS
    for spec in SPECS:
        assert spec.description, f"Settings.{spec.field} needs Field(description=...) in config.py"
        assert spec.title, f"Settings.{spec.field} needs Field(title=...) in config.py"
        assert spec.env == spec.env.upper()


def test_generated_parts_are_up_to_date() -> None:
    from channel_mcp.manifests import stale_files

    stale = [str(p.relative_to(ROOT)) for p in stale_files(ROOT)]
    assert stale == [], f"out of date: {', '.join(stale)}; {FIX}"


def test_server_json_declares_every_setting(server_json: dict[str, Any]) -> None:
    [package] = server_json["packages"]
    declared = {v["name"]: v for v in package["environmentVariables"]}
    assert list(declared) == [s.env for s in SPECS], FIX
    for spec in SPECS:
        variable = declared[spec.env]
        assert variable["isSecret"] is spec.secret
        assert variable.get("default") == spec.default
        assert variable["format"] == spec.kind
    assert server_json["_meta"]["io.modelcontextprotocol.registry/publisher-provided"]["license"] == "MIT"


def test_mcpb_user_config_declares_every_setting(mcpb_manifest: dict[str, Any]) -> None:
    user_config = mcpb_manifest["user_config"]
    assert list(user_config) == [s.field for s in SPECS], FIX
    wiring = json.dumps(mcpb_manifest["server"]["mcp_config"])
    for spec in SPECS:
        option = user_config[spec.field]
        assert option.get("sensitive", False) is spec.secret
        assert f"${{user_config.{spec.field}}}" in wiring, spec.field
        if spec.default is not None and not spec.secret:
            assert str(option["default"]).lower() == spec.default.lower() or float(option["default"]) == float(
                spec.default
            )
    assert mcpb_manifest["license"] == "MIT"


def test_readme_table_declares_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- settings:start", 1)[1].split("<!-- settings:end -->", 1)[0]
    rows = [line.split("|")[1:-1] for line in table.splitlines() if line.startswith("| `")]
    assert [row[0].strip().strip("`") for row in rows] == [s.env for s in SPECS], FIX
    for row, spec in zip(rows, SPECS, strict=True):
        assert ("Secret." in row[3]) is spec.secret, spec.env


def test_kubernetes_keys_declare_every_setting(container: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    configmap = load_yaml_one(K8S / "configmap.yaml")
    secret = load_yaml_one(K8S / "secret.example.yaml")
    assert list(configmap["data"]) == [s.env for s in SPECS if not s.secret], FIX
    assert list(secret["stringData"]) == [s.env for s in SPECS if s.secret], FIX
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in container["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    assert list(refs) == list(secret["stringData"]), FIX
    for spec in SPECS:
        if spec.secret:
            assert refs[spec.env].get("optional", False) is not spec.required_in_cluster, spec.env

    # The ConfigMap's values are the defaults: loaded as the pod's environment, they change nothing.
    from channel_mcp.config import Settings

    for spec in SPECS:
        monkeypatch.delenv(spec.env, raising=False)
    baseline = Settings().model_dump()
    for key, value in configmap["data"].items():
        monkeypatch.setenv(key, value)
    loaded = Settings().model_dump()
    # A field whose unset value means a stated default (IMBRACE_ENV: None means stable) may load as that default.
    effective = {s.field: s.default for s in SPECS if baseline[s.field] is None and s.default is not None}
    assert loaded == {**baseline, **{k: loaded[k] for k in effective if loaded[k] == effective[k]}}


async def test_mcpb_prompts_take_the_servers_arguments(mcpb_manifest: dict[str, Any]) -> None:
    from channel_mcp.config import Settings
    from channel_mcp.server import build_server

    server = build_server(Settings(sandbox=True))
    served = {p.name: sorted(a.name for a in p.arguments or []) for p in await server.list_prompts()}
    declared = {p["name"]: sorted(p.get("arguments", [])) for p in mcpb_manifest["prompts"]}
    assert declared == served


def test_generator_check_names_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from channel_mcp import manifests

    assert manifests.main(["--check", "--root", str(ROOT)]) == 0
    for path in manifests.generated_files(ROOT):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8").replace("`CHANNEL_MCP_SANDBOX`", "`X`"), encoding="utf-8")
    assert manifests.main(["--check", "--root", str(tmp_path)]) == 1
    assert "README.md" in capsys.readouterr().err
    assert manifests.main(["--write", "--root", str(tmp_path)]) == 0
    assert manifests.main(["--check", "--root", str(tmp_path)]) == 0


def test_a_new_settings_field_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings grows (an HTTP block is on its way): every manifest must follow without code changes here.
    from pydantic import Field, SecretStr

    from channel_mcp import manifests
    from channel_mcp.config import Settings

    class Grown(Settings):
        http_extra_secret: SecretStr | None = Field(
            None, title="Extra", description="An extra secret.", validation_alias="CHANNEL_MCP_HTTP_EXTRA_SECRET"
        )
        http_extra_limit: int = Field(7, ge=1, title="Limit", description="An extra limit.")

    monkeypatch.setattr(manifests, "Settings", Grown)
    specs = {s.env: s for s in manifests.settings_spec()}
    assert specs["CHANNEL_MCP_HTTP_EXTRA_SECRET"].secret is True
    assert specs["HTTP_EXTRA_LIMIT"].default == "7" and specs["HTTP_EXTRA_LIMIT"].minimum == 1
    assert manifests.stale_files(ROOT), "the committed manifests lack the new fields, so --check must fail"


# --------------------------------------------------------------------------- one source: the tool registry


def _readme_tool_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split(TOOLS_START + "\n", 1)[1].split(TOOLS_END, 1)[0]


def test_readme_tool_table_is_what_the_cli_prints(capsys: pytest.CaptureFixture[str]) -> None:
    from channel_mcp.cli import main

    main(["tools", "--markdown"])
    assert _readme_tool_block() == capsys.readouterr().out, FIX


def test_readme_tool_table_lists_the_registry() -> None:
    rows = [line.split("|")[1:-1] for line in _readme_tool_block().splitlines() if line.startswith("| `")]
    assert [row[0].strip().strip("`") for row in rows] == [spec.name for spec in TOOLS], FIX
    for row, spec in zip(rows, TOOLS, strict=True):
        assert row[1].strip() == spec.toolset
        assert row[2].strip() == spec.description
        ann = row[3].split()
        assert (ann[0] == "RO") is spec.annotations.read_only, spec.name
        assert (ann[0] == "D") is spec.annotations.destructive, spec.name
        assert ("idem" in ann) is (spec.annotations.idempotent and not spec.annotations.read_only), spec.name


def test_a_new_tool_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    # Adding a tool to a toolset needs no edit here or in the generator: the README and the MCPB manifest follow.
    import dataclasses

    from channel_mcp import manifests
    from channel_mcp.server import tools_markdown

    [template] = [spec for spec in TOOLS if spec.name == "imbrace_get_channel"]
    grown = dataclasses.replace(template, name="imbrace_get_channel_twice", description="Get one channel twice.")
    monkeypatch.setattr(manifests, "ALL_TOOLS", [*TOOLS, grown])
    assert "| `imbrace_get_channel_twice` | imbrace_channels | Get one channel twice. | RO |" in (
        tools_markdown([*TOOLS, grown])
    )
    stale = {str(p.relative_to(ROOT)) for p in manifests.stale_files(ROOT)}
    assert stale == {"README.md", "manifests/mcpb/manifest.json"}
