"""nginx for the stack: ``deploy/nginx.conf`` (the same file compose mounts) filled in for loopback.

The template holds everything that matters in production (failover, SSE, websockets, limits, headers,
gzip, request ids); this module only wraps it in a main file that runs unprivileged under
``<VAR_DIR>/stack/nginx`` (pid, temporary files) and logs under ``<VAR_DIR>/log``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from string import Template

from chatdash.errors import ConfigError

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "nginx.conf"

MAIN = """\
# Written by `chatdash stack up`; the server itself is deploy/nginx.conf.
worker_processes 1;
pid $prefix/nginx.pid;
error_log $log_dir/nginx-error.log warn;
$user
events {
    worker_connections 4096;
}
http {
    include $mime;
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout 65s;
    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    include $prefix/chatdash.conf;
}
"""


def server_block(listen: str, web: list[str], dashboard: str, access_log: str) -> str:
    """``deploy/nginx.conf`` with its four placeholders filled in (nginx's own ``$variables`` stay)."""
    if not TEMPLATE.exists():
        raise ConfigError(f"{TEMPLATE} is missing: `chatdash stack up` runs from a chatdash checkout")
    servers = "\n    ".join(f"server {address} max_fails=1 fail_timeout=5s;" for address in web)
    return Template(TEMPLATE.read_text()).safe_substitute(
        CHATDASH_LISTEN=listen,
        CHATDASH_WEB_SERVERS=servers,
        CHATDASH_DASHBOARD_SERVER=dashboard,
        CHATDASH_ACCESS_LOG=access_log,
    )


def write_config(conf: Path, log_dir: Path, listen: str, web: list[str], dashboard: str) -> None:
    """The main file and the server block, under ``conf``'s folder, ready for ``nginx -p -c``."""
    prefix = conf.parent
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / folder).mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    user = ""
    if os.geteuid() == 0:  # workers drop to nobody: they must write their temporary files
        user = "user nobody nogroup;"
        for path in [prefix / "tmp", *(prefix / "tmp").iterdir()]:
            shutil.chown(path, "nobody", "nogroup")
    mime = "/etc/nginx/mime.types"
    if not Path(mime).exists():
        (prefix / "mime.types").write_text(
            "types { text/html html; text/css css; application/javascript js; }\n"
        )
        mime = str(prefix / "mime.types")
    (prefix / "chatdash.conf").write_text(
        server_block(listen, web, dashboard, str(log_dir / "nginx-access.log"))
    )
    conf.write_text(Template(MAIN).substitute(prefix=prefix, log_dir=log_dir, user=user, mime=mime))
