"""`chatdash lm ...`: the language model as its own service."""

from __future__ import annotations

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

    Point other chatdash processes at it with CHATDASH_LLM_BASE_URL=http://HOST:PORT/v1.
    """
    from chatdash.llm import model_path, thread_count
    from chatdash.llm import serve as serve_model

    settings = get_settings()
    path = model_path(settings)
    console.print(
        f"serving {settings.llm_model} ({path.name}) at http://{host}:{port}/v1 - context "
        f"{settings.llm_context} tokens, {thread_count(settings)} threads, "
        f"{'API key required' if settings.llm_api_key else 'no API key'}; Ctrl-C stops",
        highlight=False,
    )
    serve_model(settings, host=host, port=port)
