"""The `stackling` command: up, down, status, config show."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from stackling import settings as settings_mod
from stackling.cli.image import image_app
from stackling.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Stackling: an OpenStack cloud.")
config_app = typer.Typer(no_args_is_help=True, help="Show configuration.")
app.add_typer(config_app, name="config")
identity_app = typer.Typer(no_args_is_help=True, help="Identity service maintenance.")
app.add_typer(identity_app, name="identity")
app.add_typer(image_app, name="image")

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="State directory (database, keys, logs).")
]
ConfigFile = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


def _settings(data_dir: Path | None, config: Path | None, **overrides: object) -> Settings:
    try:
        return settings_mod.load(
            config, data_dir=data_dir.resolve() if data_dir else None, **overrides
        )
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def up(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port of every API.")] = None,
    config: ConfigFile = None,
    detach: Annotated[bool, typer.Option("--detach", help="Run in the background.")] = False,
    admin_password: Annotated[
        str | None,
        typer.Option(
            "--admin-password",
            envvar="STACKLING_ADMIN_PASSWORD",
            show_envvar=True,
            help="Admin password (default: generated once, kept in the data dir).",
        ),
    ] = None,
    ready_fd: Annotated[
        int | None, typer.Option("--ready-fd", hidden=True, help="Write one byte here once up.")
    ] = None,
) -> None:
    """Run the cloud: every API on one port."""
    from stackling.runtime import process

    settings = _settings(data_dir, config, host=host, port=port, admin_password=admin_password)
    if detach:
        argv = None
        if any(a.startswith("--admin-password") for a in sys.argv[1:]):
            # A forked child would show this command line, password included, for
            # as long as it runs: start a new interpreter, the password in its
            # environment (never on a command line others can read).
            os.environ["STACKLING_ADMIN_PASSWORD"] = settings.admin_password
            argv = ["up", "--data-dir", str(settings.data_dir), "--host", settings.host]
            argv += ["--port", str(settings.port)]
            if config:
                argv += ["--config", str(config.resolve())]
        pid = process.detach(settings, argv)
        _print_usage(settings, pid)
        return
    process.setup_logging(settings, to_stderr=True)
    process.serve(settings, ready_fd=ready_fd)


def _print_usage(settings: Settings, pid: int) -> None:
    clouds = settings.data_dir / "clouds.yaml"
    typer.echo(f"Stackling is up at {settings.endpoint} (pid {pid}).")
    typer.echo("Use it with:")
    typer.echo(f"  export OS_CLIENT_CONFIG_FILE={clouds} OS_CLOUD=stackling")
    typer.echo("  openstack token issue")
    typer.echo(f"or: source {settings.data_dir / 'openrc'}")
    typer.echo(f"Logs: {settings.log_dir / 'stackling.log'}")


@app.command()
def down(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Stop the cloud gracefully."""
    from stackling.runtime import process

    settings = _settings(data_dir, config)
    if process.stop(settings.data_dir):
        typer.echo("stopped")
    else:
        typer.echo(f"not running (no live pid in {process.pid_file(settings.data_dir)})")


@app.command()
def status(
    data_dir: DataDir = None,
    config: ConfigFile = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Report the process and the health of each service."""
    import httpx

    from stackling.runtime import process

    settings = _settings(data_dir, config)
    pid = process.read_pid(settings.data_dir)
    # The server records where it listens: `up --port N` needs no `status --port N`.
    endpoint = process.read_endpoint(settings.data_dir) or settings.endpoint
    report: dict[str, object] = {"pid": pid, "endpoint": endpoint}
    try:
        report.update(httpx.get(f"{endpoint}/healthcheck", timeout=5).json())
    except (httpx.HTTPError, ValueError) as exc:
        report["status"] = "down"
        report["error"] = str(exc)
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Stackling at {endpoint} (pid {pid or '-'})")
        table.add_column("service")
        table.add_column("status")
        table.add_column("details")
        services = report.get("services") or {}
        assert isinstance(services, dict)
        for name, info in services.items():
            details = ", ".join(f"{k}={v}" for k, v in info.items() if k != "status")
            table.add_row(name, str(info.get("status")), details)
        if not services:
            table.add_row("-", str(report.get("status")), str(report.get("error", "")))
        Console().print(table)
    if report.get("status") != "ok":
        raise typer.Exit(1)


@config_app.command("show")
def config_show(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Print the effective settings (secrets masked)."""
    settings = _settings(data_dir, config)
    data = json.loads(settings.model_dump_json())
    if data.get("admin_password"):
        data["admin_password"] = "***"
    url = data.get("database", {}).get("url", "")
    if "@" in url:
        scheme, _, rest = url.partition("://")
        data["database"]["url"] = f"{scheme}://***@{rest.split('@', 1)[1]}"
    typer.echo(json.dumps(data, indent=2, default=str))


@identity_app.command("rotate-keys")
def rotate_keys(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Rotate the token signing keys (a running server picks them up within seconds).

    Tokens signed with a key stay valid until that key falls off the end of the
    repository (identity.max_active_keys); rotate less often than tokens live.
    """
    from stackling.identity.keys import KeyRepository

    settings = _settings(data_dir, config)
    repo = KeyRepository(
        settings.data_dir / "identity" / "fernet-keys", settings.identity.max_active_keys
    )
    repo.ensure()
    repo.rotate()
    typer.echo(f"rotated; keys now: {', '.join(p for p, _ in repo.version())}")


def main() -> None:
    """Console script entry point."""
    app(prog_name="stackling")


if __name__ == "__main__":
    sys.exit(main())
