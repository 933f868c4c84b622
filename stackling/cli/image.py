"""`stackling image ...`: image maintenance (the test guest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

image_app = typer.Typer(no_args_is_help=True, help="Image maintenance.")


@image_app.command("build-test")
def build_test(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Where to write the qcow2 (default: the cache the cloud registers it from).",
        ),
    ] = None,
) -> None:
    """Build the small test guest image (CirrOS-like) from Debian packages."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from stackling.image.testimage import (
        TestImageBuildError,
        build_test_image,
        default_test_image_path,
    )

    target = output if output is not None else default_test_image_path()
    columns = (
        TextColumn("{task.description:<45}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("Starting", total=1.0)

        def progress(step: str, fraction: float) -> None:
            bar.update(task, description=step, completed=fraction)

        try:
            path = build_test_image(target, progress=progress)
        except TestImageBuildError as exc:
            bar.stop()
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    size_mib = path.stat().st_size / (1 << 20)
    typer.echo(f"{path} ({size_mib:.1f} MiB)")
