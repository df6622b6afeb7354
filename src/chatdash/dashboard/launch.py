"""``python -m chatdash.dashboard.launch run …``: ``streamlit run …`` that stops cleanly on Ctrl-C.

The dashboard is Streamlit's ASGI app (``st.App``), served by uvicorn, which re-raises the Ctrl-C it
caught once the server has stopped; Streamlit's click command then prints "Aborted!" and exits 1, so
``make run`` ended with an error after a normal stop. Here that stop is what it is: a message, exit 0.
SIGTERM is left as it is (the process ends by the signal, as a supervisor expects).
"""

from __future__ import annotations

import sys

import click
from streamlit.web.cli import main


def launch(args: list[str]) -> int:
    try:
        main.main(args=args, prog_name="streamlit", standalone_mode=False)
    except (KeyboardInterrupt, click.exceptions.Abort):
        print("  Dashboard stopped.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(launch(sys.argv[1:]))
