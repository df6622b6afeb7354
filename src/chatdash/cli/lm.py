"""`chatdash lm ...`: the language model as its own service."""

from __future__ import annotations

from pathlib import Path

import typer

from chatdash.cli.common import console, edge
from chatdash.config import get_settings

app = typer.Typer(help="The language model as an OpenAI-compatible server.", no_args_is_help=True)


@app.command("serve")
@edge
def serve(
    port: int = typer.Option(8080, min=1, max=65535, help="TCP port to listen on."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0: every interface)."),
) -> None:
    """Serve the configured GGUF at http://HOST:PORT/v1 (OpenAI-compatible) until interrupted.

    Runs llama.cpp's llama-server (`make llama-server` builds it), which decodes up to
    CHATDASH_LLM_PARALLEL requests together. Point other chatdash processes at it with
    CHATDASH_LLM_BASE_URL=http://HOST:PORT/v1; Prometheus metrics are at http://HOST:PORT/metrics.
    """
    from chatdash.llm import model_path, thread_count
    from chatdash.llm import serve as serve_model

    settings = get_settings()

    def announce(binary: Path) -> None:
        console.print(
            f"serving {settings.llm_model} ({model_path(settings).name}) at http://{host}:{port}/v1 with "
            f"{binary} - {settings.llm_parallel} slots of {settings.llm_context} tokens, "
            f"{thread_count(settings)} threads, "
            f"{'API key required' if settings.llm_api_key else 'no API key'}; Ctrl-C stops",
            highlight=False,
        )

    serve_model(settings, host=host, port=port, announce=announce)
