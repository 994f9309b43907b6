"""The ``rtbf`` console script: the platform's commands (``app.cli.platform``), the worker (``rtbf worker``) and the
engine's commands (model train-demo, probe, unlearn, bench) under one root. ``python -m workers.cli`` runs it too.

It is composed here because this is the side allowed to see both: app/ never imports workers/, the engine never
imports the web, and the workers' package already calls app/ (its tasks record job outcomes there). Engine
commands import torch inside their bodies, so ``rtbf --help`` and the platform commands work without the worker
extra installed.
"""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli import platform as platform_cli
from app.core.processes import worker_arguments
from workers.engine import cli as engine_cli
from workers.engine import cli_unlearn, cli_verify


def worker(
    queues: Annotated[str, typer.Option("--queues", "-Q", help="gpu: the engine worker (discovery, unlearning); "
                                        "default: the email worker. Both in one worker makes emails wait behind "
                                        "jobs.")] = "default,gpu",
    concurrency: Annotated[int, typer.Option(help="Processes; keep 1 per GPU.")] = 1,
    pool: Annotated[str, typer.Option(help="prefork (default: time limits and a fresh process per job), solo "
                                            "or threads (neither enforces the jobs' time limits)")] = "prefork",
    name: Annotated[str, typer.Option("--hostname", "-n", help="Worker name; keep it stable across restarts so "
                                                                "a restarted worker fails its lost jobs.")] = (
        "celery@%h"
    ),
    max_tasks_per_child: Annotated[int | None, typer.Option(
        help="Tasks before the pool process is replaced; 0: never. Default: 1 when the gpu queue is consumed "
             "(gives a job's GPU memory back), else never.")] = None,
) -> None:
    """Run a Celery worker: `-Q gpu` (the engine worker, one per GPU) and `-Q default` (emails), one of each."""
    from app.cli.common import settings as checked_settings

    checked_settings()  # a clean refusal where nothing was set up (no keys), before Celery reads them
    # Importing the Celery app reads settings and sets up the broker: only a worker should pay for that.
    from workers.celery_app import celery_app

    celery_app.worker_main(worker_arguments(queues=queues, hostname=name, concurrency=concurrency, pool=pool,
                                            max_tasks_per_child=max_tasks_per_child))


app = typer.Typer(no_args_is_help=True, help="rtbf: the right to be forgotten, for language models.")
model_app = typer.Typer(no_args_is_help=True, help="Target models: build the demo model, register models.")
app.add_typer(model_app, name="model")

platform_cli.register(app, model_app=model_app)
app.command("worker")(worker)

model_app.command("train-demo")(engine_cli.train_demo)
app.command("probe")(engine_cli.probe)
app.command("unlearn")(cli_unlearn.unlearn)
app.command("bench")(cli_unlearn.bench)
app.command("verify")(cli_verify.verify)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
