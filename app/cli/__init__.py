"""The ``rtbf`` console script.

One root command; the platform's groups (serve/up, apikey, audit, outbox, officer) come from
``app.cli.platform`` and the engine's commands (model train-demo, probe, unlearn, bench) from
``workers.engine``. Engine commands import torch inside their bodies, so ``rtbf --help`` and the
platform commands work without the worker extra installed.
"""

import typer

from app.cli import platform as platform_cli
from workers.engine import cli as engine_cli
from workers.engine import cli_unlearn

app = typer.Typer(no_args_is_help=True, help="rtbf: the right to be forgotten, for language models.")
model_app = typer.Typer(no_args_is_help=True, help="Target models: build the demo model, register models.")
app.add_typer(model_app, name="model")

platform_cli.register(app, model_app=model_app)

model_app.command("train-demo")(engine_cli.train_demo)
app.command("probe")(engine_cli.probe)
app.command("unlearn")(cli_unlearn.unlearn)
app.command("bench")(cli_unlearn.bench)


def main() -> None:
    app()
