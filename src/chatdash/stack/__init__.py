"""``chatdash stack up|down|status``: the production topology on one machine, without Docker.

nginx in front (the only port a browser needs), two web replicas, the data API, the LM service
(llama.cpp's server, batching), the dashboard, PostgreSQL and Redis, all on loopback, each a process
with its log under ``<VAR_DIR>/log``. What ``up`` started is written to ``<VAR_DIR>/stack/state.json``,
so ``down`` stops exactly that and nothing else, and ``up`` again starts only what is not running (a
killed replica comes back). The same settings as production select every part: a PostgreSQL, Redis,
Qdrant or LM server given in the environment is used instead of starting one.

- ``plan``: which components, on which ports, with which settings (pure: no process is started).
- ``supervisor``: starts, watches and stops them; the state file.
- ``postgres``: the throwaway cluster under ``<VAR_DIR>/pg`` from the machine's server binaries.
- ``nginx``: ``deploy/nginx.conf`` filled in for loopback, inside a main file of its own.
"""

from chatdash.stack.plan import Component, StackOptions, plan
from chatdash.stack.supervisor import Stack

__all__ = ["Component", "Stack", "StackOptions", "plan"]
