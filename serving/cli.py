"""``yiwang serve``: run the read-only API; ``yiwang serve keys add|list|revoke``: manage its API keys.

Kept light (click only at import): yiwang/cli.py adds this group to the main command.
"""

from __future__ import annotations

import click


@click.group(invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int) -> None:
    """Serve the published marts read-only over HTTP for portals (docs/serving.md)."""
    if ctx.invoked_subcommand is not None:
        return
    import copy

    import uvicorn
    import uvicorn.config

    from serving.settings import load_serving_settings

    load_serving_settings()  # a bad setting fails here, before the server starts
    log_config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    log_config["formatters"]["access_line"] = {"format": "%(asctime)s %(name)s %(message)s"}
    log_config["handlers"]["access_line"] = {
        "formatter": "access_line",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
    }
    log_config["loggers"]["yiwang.serving"] = {
        "handlers": ["access_line"],
        "level": "INFO",
        "propagate": False,
    }
    uvicorn.run(
        "serving.app:create_app",
        log_config=log_config,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # serving.app logs each request itself, without query strings or keys
        server_header=False,
    )


@serve.group()
def keys() -> None:
    """API keys (only their hashes are stored; a new key is shown once)."""


def _store():  # noqa: ANN202 - KeyStore, imported lazily
    from serving.keys import KeyStore
    from serving.settings import load_serving_settings

    return KeyStore(load_serving_settings().keys_file)


@keys.command("add")
@click.option("--portal", required=True, help="Who holds the key (a portal's name).")
@click.option("--department", required=True, help="Department credit code (USCC) the key may see, or '*'.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    type=click.Choice(["departments:read", "residents:read"]),
    help="What the key may read; repeat for more.",
)
def keys_add(portal: str, department: str, scopes: tuple[str, ...]) -> None:
    """Create a key and print it ONCE (store it in the portal's secret store)."""
    record, key = _store().add(portal, department, list(scopes))
    click.echo(
        f"key_id {record.key_id}  portal {record.portal}  department {record.department}  scopes {' '.join(record.scopes)}"
    )
    click.echo(key)
    click.echo("(shown once: only its hash is kept)", err=True)


@keys.command("list")
def keys_list() -> None:
    """The keys: id, portal, department, scopes, created, revoked (never the key)."""
    for k in _store().keys():
        state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
        click.echo(f"{k.key_id}\t{k.portal}\t{k.department}\t{','.join(k.scopes)}\t{k.created_at}\t{state}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key by its id (a running API refuses it from its next request)."""
    k = _store().revoke(key_id)
    click.echo(f"{k.key_id} revoked {k.revoked_at}")
