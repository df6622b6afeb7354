#!/bin/sh
# The chatdash image's entrypoint: the container's command names its role.
#
#   web        the chat (web pages + /api): chatdash serve --role ui, port 8000
#   db-api     the data API: chatdash serve --role db-api, port 8001
#   dashboard  the Streamlit dashboard under /dashboard/: chatdash dashboard, port 8501
#   lm         the OpenAI-compatible LM server (llama.cpp's llama-server): chatdash lm serve, port 8080
#   migrate [INIT OPTIONS]
#              one-shot, before the servers: chatdash init (migrations, the shipped prompts, sample sales
#              data when sales_data is empty; e.g. `migrate --rows 0` loads none)
#   health     the image's HEALTHCHECK: probes the role this container runs
#   chatdash ARGS...
#              any chatdash command, e.g. `docker compose run --rm web chatdash users create alice`
#
# Migrations run in `migrate`, one container that finishes before db-api, web and the dashboard start
# (compose: depends_on service_completed_successfully), not in each server: two web replicas and the data
# API starting together would otherwise race on the same schema change. `chatdash serve` still checks the
# schema on start, which is a read once `migrate` has brought it to head.
set -eu

health_file="${TMPDIR:-/tmp}/chatdash-health"

usage() {
    echo "usage: chatdash-entrypoint web|db-api|dashboard|lm|migrate [INIT OPTIONS]|health|chatdash ARGS..." >&2
}

# What `health` probes for this container's role: the URLs, one of which must answer 200.
probe() {
    if ! printf '%s\n' "$@" 2>/dev/null >"$health_file"; then
        echo "chatdash-entrypoint: cannot write $health_file: the health check will report healthy" >&2
    fi
}

no_arguments() {
    if [ "$#" -gt 0 ]; then
        echo "chatdash-entrypoint: the $role role takes no arguments (got: $*); use 'chatdash ...' instead" >&2
        usage
        exit 64
    fi
}

health() {
    if [ ! -s "$health_file" ]; then
        exit 0  # migrate or a one-off command: no server to probe
    fi
    exec python - "$health_file" <<'PYTHON'
import os
import sys
import urllib.request

urls = open(sys.argv[1], encoding="utf-8").read().split()
key = os.environ.get("CHATDASH_LLM_API_KEY", "")
problem = "no URL"
for url in urls:
    # Only the LM server's OpenAI routes want its key; /health and /healthz are open.
    headers = {"Authorization": f"Bearer {key}"} if key and "/v1/" in url else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=4) as answer:
            if answer.status == 200:
                sys.exit(0)
            problem = f"{url}: HTTP {answer.status}"
    except Exception as exc:
        problem = f"{url}: {exc}"
print(f"unhealthy: {problem}")
sys.exit(1)
PYTHON
}

role="${1:-web}"
if [ "$#" -gt 0 ]; then
    shift
fi

case "$role" in
    web)
        no_arguments "$@"
        probe http://127.0.0.1:8000/healthz
        exec chatdash serve --role ui --host 0.0.0.0 --port 8000
        ;;
    db-api)
        no_arguments "$@"
        probe http://127.0.0.1:8001/healthz
        exec chatdash serve --role db-api --host 0.0.0.0 --port 8001
        ;;
    dashboard)
        no_arguments "$@"
        probe http://127.0.0.1:8501/dashboard/_stcore/health
        exec chatdash dashboard --host 0.0.0.0 --port 8501 --base-path /dashboard/
        ;;
    lm)
        no_arguments "$@"
        # llama-server answers /health (200 once the model is loaded); /v1/models is the fallback.
        probe http://127.0.0.1:8080/health http://127.0.0.1:8080/v1/models
        exec chatdash lm serve --host 0.0.0.0 --port 8080
        ;;
    migrate)
        exec chatdash init "$@"
        ;;
    health)
        health
        ;;
    chatdash)
        exec chatdash "$@"
        ;;
    -h | --help | help)
        usage
        ;;
    *)
        echo "chatdash-entrypoint: unknown role '$role'" >&2
        usage
        exit 64
        ;;
esac
