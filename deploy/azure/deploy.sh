#!/usr/bin/env bash
# chatdash on Azure Container Apps: the published cloud deployment, one command, safe to run again.
#
#   deploy/azure/deploy.sh --dry-run --resource-group rg-chatdash --location westeurope --prefix chatdash \
#       --domain chat.example.com --registry myregistry.azurecr.io --tag 0.1.0
#
# prints every az command it would run (no az needed); without --dry-run it runs them. What it builds:
#   - a VNet: one subnet for the Container Apps environment, one delegated to PostgreSQL;
#   - Key Vault (RBAC) with the app's secrets, generated once when absent and never printed; the apps read
#     them as `keyvaultref:` secrets through a user-assigned managed identity (which also pulls from ACR);
#   - Azure Database for PostgreSQL Flexible Server with private access only (private DNS zone on the VNet);
#   - the Container Apps environment on the VNet, a `migrate` job (`chatdash init`: migrations, prompts, and
#     the sample orders into an empty sales_data) run to completion before the apps, and the apps: web
#     (external ingress), db-api, lm, dashboard (internal), 1 to 5 replicas each, a new one per 10 concurrent
#     requests (the LM per 2: it decodes on CPU); redis (internal TCP, one replica: rate-limit counters);
#   - one public host for the UI, /api and /dashboard (the dashboard signs in with the chat's session cookie,
#     so both must share the host): an environment HTTP route config (Container Apps' rule-based routing,
#     in preview with custom domains) carrying the custom domain and its managed certificate.
#
# Secrets never appear in the log (*** in their place) and reach az through temporary files (mode 600), except
# where az takes them on its command line only: the PostgreSQL admin password when the server is created and
# the Log Analytics key when the environment is.
# Idempotent where az allows: each resource is looked up (`show`, `list`) before it is created; an app or
# job that exists is updated (image, settings, scale) instead. Secrets that exist are kept.
# Not covered by az's flags, so left at Container Apps' defaults: HTTP readiness probes (the apps get TCP
# probes on their port; /readyz answers for a YAML revision template when wanted).
set -euo pipefail

readonly SCRIPT="${0##*/}"
if [ "${BASH_VERSINFO[0]}" -lt 4 ] || { [ "${BASH_VERSINFO[0]}" -eq 4 ] && [ "${BASH_VERSINFO[1]}" -lt 4 ]; }; then
    echo "$SCRIPT: needs bash 4.4 or newer (this is $BASH_VERSION; on macOS: brew install bash)" >&2
    exit 1
fi

usage() {
    cat <<EOF
Usage: $SCRIPT [--dry-run] --resource-group NAME --location REGION --prefix NAME --domain HOST
                 --registry SERVER --tag TAG [options]

Deploys chatdash to Azure Container Apps (see the header of this file). Each option may also come from the
environment variable in brackets; a flag wins over the variable.

Required:
  --resource-group NAME   resource group, created when absent            [DEPLOY_RESOURCE_GROUP]
  --location REGION       Azure region, e.g. westeurope                    [DEPLOY_LOCATION]
  --prefix NAME           name prefix of every resource: 3-12 lower-case letters, digits or hyphens,
                          starting with a letter (Key Vault and PostgreSQL names are global)
                                                                           [DEPLOY_PREFIX]
  --domain HOST           public host name of the chat, e.g. chat.example.com  [DEPLOY_DOMAIN]
  --registry SERVER       image registry, e.g. myregistry.azurecr.io       [DEPLOY_REGISTRY]
  --tag TAG               tag of the chatdash image (not "latest")        [DEPLOY_TAG]

Options:
  --postgres-sku SKU      PostgreSQL compute (default Standard_B1ms)      [DEPLOY_POSTGRES_SKU]
  --postgres-tier TIER    Burstable, GeneralPurpose or MemoryOptimized (default Burstable)
                                                                           [DEPLOY_POSTGRES_TIER]
  --postgres-version N    PostgreSQL major version (default 16)           [DEPLOY_POSTGRES_VERSION]
  --postgres-storage GB   storage in GiB (default 32)                      [DEPLOY_POSTGRES_STORAGE]
  --vnet-prefix N.N       first two octets of the VNet's /16 (default 10.42): apps in .0.0/23,
                          PostgreSQL in .2.0/24                            [DEPLOY_VNET_PREFIX]
  --qdrant-url URL        a Qdrant server for chat memory and documents. Without it the apps run with
                          CHATDASH_MEMORY=false (no recall, no document uploads): Qdrant needs block
                          storage, which Container Apps volumes are not  [DEPLOY_QDRANT_URL]
  --dry-run               print the commands, run none (no az needed)
  -h, --help              this help

Before the certificate can be issued, DNS must point the domain at the environment: an A record to its
static IP and a TXT record asuid.<domain> with its verification id (printed on the way).
Exit status: 0 done, 1 a command failed, 2 wrong usage.
EOF
}

usage_error() {
    echo "$SCRIPT: $*" >&2
    echo "Try '$SCRIPT --help'." >&2
    exit 2
}

note() { echo "== $*" >&2; }

# --- options -------------------------------------------------------------------------------------------

DRY_RUN=0
RESOURCE_GROUP="${DEPLOY_RESOURCE_GROUP:-}"
LOCATION="${DEPLOY_LOCATION:-}"
PREFIX="${DEPLOY_PREFIX:-}"
DOMAIN="${DEPLOY_DOMAIN:-}"
REGISTRY="${DEPLOY_REGISTRY:-}"
TAG="${DEPLOY_TAG:-}"
POSTGRES_SKU="${DEPLOY_POSTGRES_SKU:-Standard_B1ms}"
POSTGRES_TIER="${DEPLOY_POSTGRES_TIER:-Burstable}"
POSTGRES_VERSION="${DEPLOY_POSTGRES_VERSION:-16}"
POSTGRES_STORAGE="${DEPLOY_POSTGRES_STORAGE:-32}"
VNET_PREFIX="${DEPLOY_VNET_PREFIX:-10.42}"
QDRANT_URL="${DEPLOY_QDRANT_URL:-}"

while [ "$#" -gt 0 ]; do
    option="$1"
    case "$option" in
        -h | --help) usage; exit 0 ;;
        --dry-run) DRY_RUN=1; shift; continue ;;
        --*=*) set -- "${option%%=*}" "${option#*=}" "${@:2}"; continue ;;
        --resource-group | --location | --prefix | --domain | --registry | --tag | --postgres-sku | \
            --postgres-tier | --postgres-version | --postgres-storage | --vnet-prefix | --qdrant-url)
            [ "$#" -ge 2 ] || usage_error "$option needs a value"
            value="$2"
            shift 2
            ;;
        *) usage_error "unknown argument: $option" ;;
    esac
    case "$option" in
        --resource-group) RESOURCE_GROUP="$value" ;;
        --location) LOCATION="$value" ;;
        --prefix) PREFIX="$value" ;;
        --domain) DOMAIN="$value" ;;
        --registry) REGISTRY="$value" ;;
        --tag) TAG="$value" ;;
        --postgres-sku) POSTGRES_SKU="$value" ;;
        --postgres-tier) POSTGRES_TIER="$value" ;;
        --postgres-version) POSTGRES_VERSION="$value" ;;
        --postgres-storage) POSTGRES_STORAGE="$value" ;;
        --vnet-prefix) VNET_PREFIX="$value" ;;
        --qdrant-url) QDRANT_URL="$value" ;;
    esac
done

require() {  # require FLAG VARIABLE-NAME VALUE
    [ -n "$3" ] || usage_error "missing $1 (or the environment variable $2)"
}
require --resource-group DEPLOY_RESOURCE_GROUP "$RESOURCE_GROUP"
require --location DEPLOY_LOCATION "$LOCATION"
require --prefix DEPLOY_PREFIX "$PREFIX"
require --domain DEPLOY_DOMAIN "$DOMAIN"
require --registry DEPLOY_REGISTRY "$REGISTRY"
require --tag DEPLOY_TAG "$TAG"

[[ "$PREFIX" =~ ^[a-z][a-z0-9-]{2,11}$ ]] \
    || usage_error "--prefix '$PREFIX': 3-12 lower-case letters, digits or hyphens, starting with a letter"
[[ "$DOMAIN" =~ ^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$ ]] \
    || usage_error "--domain '$DOMAIN' is not a lower-case host name like chat.example.com"
[[ "$TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_error "--tag '$TAG' is not an image tag"
[ "$TAG" != latest ] || usage_error "--tag latest is not a pinned image: name a version"
[[ "$VNET_PREFIX" =~ ^[0-9]{1,3}\.[0-9]{1,3}$ ]] || usage_error "--vnet-prefix '$VNET_PREFIX': two octets, e.g. 10.42"
[[ "$POSTGRES_STORAGE" =~ ^[0-9]+$ ]] || usage_error "--postgres-storage '$POSTGRES_STORAGE': GiB, a number"
if [ -n "$QDRANT_URL" ] && ! [[ "$QDRANT_URL" =~ ^https?:// ]]; then
    usage_error "--qdrant-url '$QDRANT_URL': an http:// or https:// URL"
fi

# --- running az ----------------------------------------------------------------------------------------

exec 3>&1     # the command log goes to the original stdout, also from inside $(...)
MASKED=()     # values never printed (real secrets); the log shows *** in their place

print_command() {  # as a shell would read it back: plain words bare, others in single quotes
    local argument masked
    printf '+' >&3
    for argument in "$@"; do
        for masked in "${MASKED[@]}"; do
            if [ "$argument" = "$masked" ]; then
                argument='***'
            fi
        done
        if [[ "$argument" =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]]; then
            printf ' %s' "$argument" >&3
        else
            printf " '%s'" "${argument//\'/\'\\\'\'}" >&3
        fi
    done
    printf '\n' >&3
}

run() {  # run COMMAND...: print it, then run it (dry run: only print)
    print_command "$@"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

exists() {  # exists COMMAND...: whether a `show` finds the resource (dry run: print, and say no)
    print_command "$@"
    if [ "$DRY_RUN" = 1 ]; then
        return 1
    fi
    "$@" --output none >/dev/null 2>&1
}

value() {  # value PLACEHOLDER COMMAND...: the command's output (dry run: print it, answer PLACEHOLDER)
    local placeholder="$1"
    shift
    print_command "$@"
    if [ "$DRY_RUN" = 1 ]; then
        printf '%s\n' "$placeholder"
    else
        "$@"
    fi
}

retry() {  # retry COMMAND...: again every 15 s, 20 times at most (role assignments take a while to apply)
    local attempt
    for attempt in $(seq 1 20); do
        if "$@"; then
            return 0
        fi
        [ "$DRY_RUN" = 0 ] || return 1
        note "not yet (attempt $attempt of 20): waiting 15 s for Azure to apply the last change"
        sleep 15
    done
    return 1
}

new_secret() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

if [ "$DRY_RUN" = 0 ]; then
    command -v az >/dev/null 2>&1 \
        || { echo "$SCRIPT: the Azure CLI (az) is not installed; --dry-run shows the commands without it" >&2; exit 1; }
    az account show --output none 2>/dev/null \
        || { echo "$SCRIPT: az is not signed in: run 'az login' (and 'az account set -s SUBSCRIPTION')" >&2; exit 1; }
fi

# --- names ---------------------------------------------------------------------------------------------

readonly VNET="$PREFIX-vnet" APPS_SUBNET=apps PG_SUBNET=postgres
readonly LOGS="$PREFIX-logs" IDENTITY="$PREFIX-id" KEY_VAULT="$PREFIX-kv" POSTGRES="$PREFIX-pg"
readonly PG_DNS_ZONE="$PREFIX-pg.private.postgres.database.azure.com" ENVIRONMENT="$PREFIX-env"
readonly ROUTE_CONFIG=public CERTIFICATE="$PREFIX-cert" PG_ADMIN=chatdash PG_DATABASE=chatdash
readonly IMAGE="$REGISTRY/chatdash:$TAG" REDIS_IMAGE=docker.io/library/redis:7.4.2-alpine
readonly WEB="$PREFIX-web" DB_API="$PREFIX-db-api" DASHBOARD="$PREFIX-dashboard" LM="$PREFIX-lm"
readonly REDIS="$PREFIX-redis" MIGRATE="$PREFIX-migrate"
G=(--resource-group "$RESOURCE_GROUP")

note "deploying chatdash $TAG to $RESOURCE_GROUP ($LOCATION) as $PREFIX-*, public at https://$DOMAIN/"
[ "$DRY_RUN" = 0 ] || note "dry run: printing the commands, running none"

# --- foundations: resource group, logs, network --------------------------------------------------------

run az extension add --name containerapp --upgrade --yes --only-show-errors
run az provider register --namespace Microsoft.App --wait
run az provider register --namespace Microsoft.OperationalInsights --wait

if ! exists az group show --name "$RESOURCE_GROUP"; then
    run az group create --name "$RESOURCE_GROUP" --location "$LOCATION" --output none
fi

if ! exists az monitor log-analytics workspace show "${G[@]}" --workspace-name "$LOGS"; then
    run az monitor log-analytics workspace create "${G[@]}" --workspace-name "$LOGS" --location "$LOCATION" \
        --output none
fi

if ! exists az network vnet show "${G[@]}" --name "$VNET"; then
    run az network vnet create "${G[@]}" --name "$VNET" --location "$LOCATION" \
        --address-prefixes "$VNET_PREFIX.0.0/16" --output none
fi
if ! exists az network vnet subnet show "${G[@]}" --vnet-name "$VNET" --name "$APPS_SUBNET"; then
    run az network vnet subnet create "${G[@]}" --vnet-name "$VNET" --name "$APPS_SUBNET" \
        --address-prefixes "$VNET_PREFIX.0.0/23" --delegations Microsoft.App/environments --output none
fi
if ! exists az network vnet subnet show "${G[@]}" --vnet-name "$VNET" --name "$PG_SUBNET"; then
    run az network vnet subnet create "${G[@]}" --vnet-name "$VNET" --name "$PG_SUBNET" \
        --address-prefixes "$VNET_PREFIX.2.0/24" --delegations Microsoft.DBforPostgreSQL/flexibleServers \
        --output none
fi
APPS_SUBNET_ID=$(value "<id of subnet $APPS_SUBNET>" az network vnet subnet show "${G[@]}" \
    --vnet-name "$VNET" --name "$APPS_SUBNET" --query id --output tsv)

# --- identity and Key Vault ----------------------------------------------------------------------------

if ! exists az identity show "${G[@]}" --name "$IDENTITY"; then
    run az identity create "${G[@]}" --name "$IDENTITY" --location "$LOCATION" --output none
fi
IDENTITY_ID=$(value "<id of $IDENTITY>" az identity show "${G[@]}" --name "$IDENTITY" --query id --output tsv)
IDENTITY_PRINCIPAL=$(value "<principal of $IDENTITY>" az identity show "${G[@]}" --name "$IDENTITY" \
    --query principalId --output tsv)

if ! exists az keyvault show "${G[@]}" --name "$KEY_VAULT"; then
    run az keyvault create "${G[@]}" --name "$KEY_VAULT" --location "$LOCATION" \
        --enable-rbac-authorization true --retention-days 90 --enable-purge-protection true --output none
fi
KEY_VAULT_ID=$(value "<id of $KEY_VAULT>" az keyvault show "${G[@]}" --name "$KEY_VAULT" --query id --output tsv)
KEY_VAULT_URI=$(value "https://$KEY_VAULT.vault.azure.net/" az keyvault show "${G[@]}" --name "$KEY_VAULT" \
    --query properties.vaultUri --output tsv)

grant() {  # grant PRINCIPAL-ID PRINCIPAL-TYPE ROLE SCOPE, unless already granted
    local found
    found=$(value "" az role assignment list --assignee "$1" --role "$3" --scope "$4" --query "[0].id" --output tsv)
    if [ -z "$found" ]; then
        run az role assignment create --assignee-object-id "$1" --assignee-principal-type "$2" --role "$3" \
            --scope "$4" --output none
    fi
}

# Whoever runs this writes the secrets; the apps' identity reads them.
DEPLOYER_TYPE=$(value user az account show --query user.type --output tsv)
if [ "$DEPLOYER_TYPE" = servicePrincipal ]; then
    DEPLOYER_ID=$(value "<deployer>" az ad sp show --id "$(value "<client id>" az account show --query user.name \
        --output tsv)" --query id --output tsv)
    DEPLOYER_TYPE=ServicePrincipal
else
    DEPLOYER_ID=$(value "<deployer>" az ad signed-in-user show --query id --output tsv)
    DEPLOYER_TYPE=User
fi
grant "$DEPLOYER_ID" "$DEPLOYER_TYPE" "Key Vault Secrets Officer" "$KEY_VAULT_ID"
grant "$IDENTITY_PRINCIPAL" ServicePrincipal "Key Vault Secrets User" "$KEY_VAULT_ID"

REGISTRY_FLAGS=()
if [[ "$REGISTRY" == *.azurecr.io ]]; then
    REGISTRY_ID=$(value "<id of ${REGISTRY%%.*}>" az acr show --name "${REGISTRY%%.*}" --query id --output tsv)
    grant "$IDENTITY_PRINCIPAL" ServicePrincipal AcrPull "$REGISTRY_ID"
    REGISTRY_FLAGS=(--registry-server "$REGISTRY" --registry-identity "$IDENTITY_ID")
fi

# The secret names already there; listing also proves the deployer's access has applied (a failed read
# must not pass for "absent": a regenerated postgres-password would lock the apps out of the database).
list_secrets() {
    EXISTING_SECRETS=$(value "" az keyvault secret list --vault-name "$KEY_VAULT" --query "[].name" --output tsv)
}
retry list_secrets

has_secret() { grep -qx -- "$1" <<<"$EXISTING_SECRETS"; }

put_secret() {  # put_secret NAME VALUE: from a private temporary file, so the value is on no command line
    local file
    if [ "$DRY_RUN" = 1 ]; then
        print_command az keyvault secret set --vault-name "$KEY_VAULT" --name "$1" \
            --file "<private temporary file>" --encoding utf-8 --output none
        return 0
    fi
    file=$(mktemp)
    chmod 600 "$file"
    printf '%s' "$2" >"$file"
    retry run az keyvault secret set --vault-name "$KEY_VAULT" --name "$1" --file "$file" --encoding utf-8 \
        --output none || { rm -f "$file"; return 1; }
    rm -f "$file"
}

POSTGRES_EXISTS=0
if exists az postgres flexible-server show "${G[@]}" --name "$POSTGRES"; then
    POSTGRES_EXISTS=1
fi
if ! has_secret postgres-password && [ "$POSTGRES_EXISTS" = 1 ]; then
    echo "$SCRIPT: $POSTGRES exists but $KEY_VAULT has no postgres-password: set its admin password there" \
        "(az postgres flexible-server update --admin-password) before running this again" >&2
    exit 1
fi
for secret in session-secret db-api-key llm-api-key postgres-password; do
    if ! has_secret "$secret"; then
        note "generating $secret in $KEY_VAULT"
        generated="<generated: 64 hex digits>"
        [ "$DRY_RUN" = 1 ] || { generated=$(new_secret); MASKED+=("$generated"); }
        put_secret "$secret" "$generated"
    fi
done
PG_PASSWORD=$(value "<postgres-password from $KEY_VAULT>" az keyvault secret show --vault-name "$KEY_VAULT" \
    --name postgres-password --query value --output tsv)
[ "$DRY_RUN" = 1 ] || MASKED+=("$PG_PASSWORD")
PG_HOST="$POSTGRES.postgres.database.azure.com"
if ! has_secret database-url; then
    put_secret database-url \
        "postgresql+psycopg://$PG_ADMIN:$PG_PASSWORD@$PG_HOST:5432/$PG_DATABASE?sslmode=require"
fi

# --- PostgreSQL: private access only -------------------------------------------------------------------

if ! exists az network private-dns zone show "${G[@]}" --name "$PG_DNS_ZONE"; then
    run az network private-dns zone create "${G[@]}" --name "$PG_DNS_ZONE" --output none
fi
if ! exists az network private-dns link vnet show "${G[@]}" --zone-name "$PG_DNS_ZONE" --name "$VNET-link"; then
    run az network private-dns link vnet create "${G[@]}" --zone-name "$PG_DNS_ZONE" --name "$VNET-link" \
        --virtual-network "$VNET" --registration-enabled false --output none
fi
PG_DNS_ZONE_ID=$(value "<id of $PG_DNS_ZONE>" az network private-dns zone show "${G[@]}" --name "$PG_DNS_ZONE" \
    --query id --output tsv)
PG_SUBNET_ID=$(value "<id of subnet $PG_SUBNET>" az network vnet subnet show "${G[@]}" --vnet-name "$VNET" \
    --name "$PG_SUBNET" --query id --output tsv)

if [ "$POSTGRES_EXISTS" = 0 ]; then
    run az postgres flexible-server create "${G[@]}" --name "$POSTGRES" --location "$LOCATION" \
        --tier "$POSTGRES_TIER" --sku-name "$POSTGRES_SKU" --version "$POSTGRES_VERSION" \
        --storage-size "$POSTGRES_STORAGE" --admin-user "$PG_ADMIN" --admin-password "$PG_PASSWORD" \
        --subnet "$PG_SUBNET_ID" --private-dns-zone "$PG_DNS_ZONE_ID" --high-availability Disabled \
        --backup-retention 7 --yes --output none
fi
if ! exists az postgres flexible-server db show "${G[@]}" --server-name "$POSTGRES" --database-name "$PG_DATABASE"
then
    run az postgres flexible-server db create "${G[@]}" --server-name "$POSTGRES" \
        --database-name "$PG_DATABASE" --output none
fi

# --- the Container Apps environment --------------------------------------------------------------------

if ! exists az containerapp env show "${G[@]}" --name "$ENVIRONMENT"; then
    LOGS_ID=$(value "<customer id of $LOGS>" az monitor log-analytics workspace show "${G[@]}" \
        --workspace-name "$LOGS" --query customerId --output tsv)
    LOGS_KEY=$(value "<key of $LOGS>" az monitor log-analytics workspace get-shared-keys "${G[@]}" \
        --workspace-name "$LOGS" --query primarySharedKey --output tsv)
    [ "$DRY_RUN" = 1 ] || MASKED+=("$LOGS_KEY")
    run az containerapp env create "${G[@]}" --name "$ENVIRONMENT" --location "$LOCATION" \
        --infrastructure-subnet-resource-id "$APPS_SUBNET_ID" --internal-only false \
        --logs-destination log-analytics --logs-workspace-id "$LOGS_ID" --logs-workspace-key "$LOGS_KEY" \
        --output none
fi

# --- the apps ------------------------------------------------------------------------------------------

secret_ref() { printf '%s=keyvaultref:%ssecrets/%s,identityref:%s' "$1" "$KEY_VAULT_URI" "$1" "$IDENTITY_ID"; }
APP_SECRETS=()
for secret in database-url session-secret db-api-key llm-api-key; do
    APP_SECRETS+=("$(secret_ref "$secret")")
done
APP_ENV=(
    CHATDASH_ENVIRONMENT=production
    CHATDASH_DATABASE_URL=secretref:database-url
    CHATDASH_SESSION_SECRET=secretref:session-secret
    CHATDASH_DB_API_KEY=secretref:db-api-key
    CHATDASH_LLM_API_KEY=secretref:llm-api-key
    "CHATDASH_DB_API_URL=http://$DB_API"
    "CHATDASH_LLM_BASE_URL=http://$LM/v1"
    "CHATDASH_REDIS_URL=redis://$REDIS:6379/0"
    CHATDASH_DASHBOARD_URL=/dashboard/
    CHATDASH_CHAT_URL=/
    # Only the environment's ingress (Envoy) reaches the apps: its X-Forwarded-* are the only ones they see.
    "CHATDASH_TRUSTED_PROXIES=*"
)
if [ -n "$QDRANT_URL" ]; then
    APP_ENV+=("CHATDASH_QDRANT_URL=$QDRANT_URL")
else
    APP_ENV+=(CHATDASH_MEMORY=false)
    note "no --qdrant-url: the apps run without vector memory and documents (CHATDASH_MEMORY=false)"
fi
# shellcheck disable=SC2034  # LM_*, NO_*: read by deploy_app through its namerefs
LM_SECRETS=("$(secret_ref llm-api-key)")
# shellcheck disable=SC2034
LM_ENV=(CHATDASH_LLM_API_KEY=secretref:llm-api-key CHATDASH_LLM_THREADS=2)

# deploy_app NAME ROLE INGRESS PORT CPU MEMORY MIN MAX CONCURRENCY SECRETS-ARRAY ENV-ARRAY
# (CONCURRENCY "-": no scale rule; ROLE redis: the Redis image on a TCP port)
deploy_app() {
    local name="$1" role="$2" ingress="$3" port="$4" cpu="$5" memory="$6" min="$7" max="$8" concurrency="$9"
    local -n app_secrets="${10}" app_env="${11}"
    local image="$IMAGE" args=(--args "$role") transport=(--transport auto)
    local scale=(--min-replicas "$min" --max-replicas "$max")
    local secrets=() create_env=() update_env=() registry=("${REGISTRY_FLAGS[@]}")
    if [ "$concurrency" != - ]; then
        scale+=(--scale-rule-name http-concurrency --scale-rule-type http
            --scale-rule-http-concurrency "$concurrency")
    fi
    if [ "$role" = redis ]; then
        image="$REDIS_IMAGE"
        args=()
        registry=()
        transport=(--transport tcp --exposed-port "$port")
    fi
    if [ "${#app_secrets[@]}" -gt 0 ]; then
        secrets=(--secrets "${app_secrets[@]}")
    fi
    if [ "${#app_env[@]}" -gt 0 ]; then
        create_env=(--env-vars "${app_env[@]}")
        update_env=(--replace-env-vars "${app_env[@]}")
    fi
    if ! exists az containerapp show "${G[@]}" --name "$name"; then
        run az containerapp create "${G[@]}" --name "$name" --environment "$ENVIRONMENT" --image "$image" \
            "${args[@]}" --user-assigned "$IDENTITY_ID" "${registry[@]}" "${secrets[@]}" "${create_env[@]}" \
            --ingress "$ingress" --target-port "$port" "${transport[@]}" \
            --cpu "$cpu" --memory "$memory" "${scale[@]}" --output none
    else
        if [ "${#secrets[@]}" -gt 0 ]; then
            run az containerapp secret set "${G[@]}" --name "$name" "${secrets[@]}" --output none
        fi
        run az containerapp update "${G[@]}" --name "$name" --image "$image" "${args[@]}" "${update_env[@]}" \
            --cpu "$cpu" --memory "$memory" "${scale[@]}" --output none
        run az containerapp ingress enable "${G[@]}" --name "$name" --type "$ingress" --target-port "$port" \
            "${transport[@]}" --output none
    fi
}

# shellcheck disable=SC2034
NO_SECRETS=()
# shellcheck disable=SC2034
NO_ENV=()
deploy_app "$REDIS" redis internal 6379 0.25 0.5Gi 1 1 - NO_SECRETS NO_ENV

# Migrations (and the shipped prompts) once, before the servers: replicas starting together would race.
if ! exists az containerapp job show "${G[@]}" --name "$MIGRATE"; then
    run az containerapp job create "${G[@]}" --name "$MIGRATE" --environment "$ENVIRONMENT" \
        --trigger-type Manual --replica-timeout 1800 --replica-retry-limit 1 --parallelism 1 \
        --replica-completion-count 1 --image "$IMAGE" --args migrate --user-assigned "$IDENTITY_ID" \
        "${REGISTRY_FLAGS[@]}" --secrets "${APP_SECRETS[@]}" \
        --env-vars "${APP_ENV[@]}" --cpu 1.0 --memory 2Gi --output none
else
    run az containerapp job secret set "${G[@]}" --name "$MIGRATE" --secrets "${APP_SECRETS[@]}" --output none
    run az containerapp job update "${G[@]}" --name "$MIGRATE" --image "$IMAGE" \
        --replace-env-vars "${APP_ENV[@]}" --output none
fi
EXECUTION=$(value "<execution>" az containerapp job start "${G[@]}" --name "$MIGRATE" --query name --output tsv)
if [ "$DRY_RUN" = 0 ]; then
    note "waiting for $MIGRATE ($EXECUTION)"
    status=Running
    for _ in $(seq 1 120); do
        status=$(az containerapp job execution show "${G[@]}" --name "$MIGRATE" --job-execution-name \
            "$EXECUTION" --query properties.status --output tsv)
        case "$status" in Running | Processing | Pending | "") sleep 15 ;; *) break ;; esac
    done
    [ "$status" = Succeeded ] || { echo "$SCRIPT: $MIGRATE ended $status: see its logs" >&2; exit 1; }
fi

#          name        role      ingress  port cpu  memory min max concurrency
deploy_app "$DB_API"    db-api    internal 8001 0.5  1Gi    1   5   10 APP_SECRETS APP_ENV
deploy_app "$LM"        lm        internal 8080 2.0  4Gi    1   5   2  LM_SECRETS LM_ENV
deploy_app "$DASHBOARD" dashboard internal 8501 1.0  2Gi    1   5   10 APP_SECRETS APP_ENV
deploy_app "$WEB"       web       external 8000 1.0  2Gi    1   5   10 APP_SECRETS APP_ENV
# A Streamlit session lives in one replica: keep each browser on its own.
run az containerapp ingress sticky-sessions set "${G[@]}" --name "$DASHBOARD" --affinity sticky --output none

# --- one public host: /dashboard to the dashboard, everything else (/, /api) to web ---------------------

ROUTES=$(mktemp)
trap 'rm -f "$ROUTES"' EXIT
cat >"$ROUTES" <<EOF
customDomains:
  - name: $DOMAIN
    bindingType: Auto
rules:
  - description: dashboard
    routes:
      - match:
          prefix: /dashboard
    targets:
      - containerApp: $DASHBOARD
  - description: chat and API
    routes:
      - match:
          prefix: /
    targets:
      - containerApp: $WEB
EOF
[ "$DRY_RUN" = 0 ] || sed 's/^/#   /' "$ROUTES" >&3
if ! exists az containerapp env http-route-config show "${G[@]}" --name "$ENVIRONMENT" \
    --http-route-config-name "$ROUTE_CONFIG"; then
    run az containerapp env http-route-config create "${G[@]}" --name "$ENVIRONMENT" \
        --http-route-config-name "$ROUTE_CONFIG" --yaml "$ROUTES" --output none
else
    run az containerapp env http-route-config update "${G[@]}" --name "$ENVIRONMENT" \
        --http-route-config-name "$ROUTE_CONFIG" --yaml "$ROUTES" --output none
fi

STATIC_IP=$(value "<static IP>" az containerapp env show "${G[@]}" --name "$ENVIRONMENT" \
    --query properties.staticIp --output tsv)
VERIFICATION=$(value "<verification id>" az containerapp env show "${G[@]}" --name "$ENVIRONMENT" \
    --query properties.customDomainConfiguration.customDomainVerificationId --output tsv)
note "DNS for $DOMAIN: A $DOMAIN -> $STATIC_IP, TXT asuid.$DOMAIN -> $VERIFICATION (needed for the certificate)"

# The managed certificate: issued once DNS points at the environment; the route's Auto binding takes it.
CERTIFICATES=$(value "" az containerapp env certificate list "${G[@]}" --name "$ENVIRONMENT" \
    --managed-certificates-only --query "[?properties.subjectName=='$DOMAIN'].name" --output tsv)
if [ -z "$CERTIFICATES" ]; then
    run az containerapp env certificate create "${G[@]}" --name "$ENVIRONMENT" \
        --certificate-name "$CERTIFICATE" --hostname "$DOMAIN" --validation-method HTTP --output none
fi

note "done: https://$DOMAIN/ (chat and /api), https://$DOMAIN/dashboard/"
