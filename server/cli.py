"""Command line: `flask --app server db upgrade | seed-demo | deploy-bpmn | timer-worker |
notify-worker`."""

from __future__ import annotations

import signal
import time
from datetime import timedelta

import click
from flask import Flask
from flask.cli import AppGroup

from handoff import demo, demo_history, residents
from notifications import channels, scanners
from notifications import worker as outbox_worker
from workflows import consistency, heartbeat, migrate, recount, service

from . import get_db

# a worker seen this recently is taken to be running (workers beat at every poll)
WORKER_ALIVE = timedelta(minutes=2)


def register(app: Flask) -> None:
    db_group = AppGroup("db", help="Database schema.")

    @db_group.command("upgrade")
    @click.option("--revision", default="head")
    def upgrade(revision: str) -> None:
        """Migrate the database (DATABASE_URL) to the latest schema."""
        migrate.upgrade(app.config["DATABASE_URL"], revision)
        click.echo("database at " + revision)

    app.cli.add_command(db_group)

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when org units already exist.")
    @click.option(
        "--with-history",
        is_flag=True,
        help="Then play nine months of work up to now (every outcome, emergency orders, "
        "terminations, overdue reviews, work in every inbox); only where no process "
        "instance exists yet.",
    )
    def seed_demo(if_empty: bool, with_history: bool) -> None:
        """Load the demo district, catalog, accounts and deploy bpmn/ (and a demo history)."""
        if with_history and app.config["ENV"] == "production":
            raise click.ClickException(
                "--with-history makes up a past: it is for demos, not for production"
            )
        with get_db().write() as session:
            if if_empty and demo.is_seeded(session):
                deployed = demo.deploy_bundled(session)
                click.echo(f"already seeded; definitions: {deployed}")
                return
            counts = demo.seed(session)
        click.echo(f"seeded: {counts}")
        if with_history:
            _seed_history()

    def _seed_history() -> None:
        db = get_db()
        with db.read() as session:
            instances = demo_history.instances_in(session)
            workers = heartbeat.last_seen(session)
        if instances:
            click.echo(f"history not made: the database already has {instances} instance(s)")
            return
        wall = heartbeat.wall_now()
        alive = [name for name, _kind, seen in workers if wall - seen < WORKER_ALIVE]
        if alive:
            # a worker on real time would fire the history's timers and scan its tasks while
            # the history's clock is still months behind
            raise click.ClickException(
                "stop the workers first (the history plays months in the past): "
                + ", ".join(sorted(alive))
            )
        click.echo(f"making the demo history ({demo_history.STORY_DAYS} days up to now)…")
        try:
            history = demo_history.make(db)
        except demo_history.HistoryDrift as exc:
            raise click.ClickException(
                f"the history stopped: {exc}; the database holds a part of it "
                "(start again from an empty database)"
            ) from exc
        for line in demo_history.describe(history):
            click.echo(line)

    @app.cli.command("deploy-bpmn")
    def deploy_bpmn() -> None:
        """Deploy every file in bpmn/ (unchanged files are not new versions)."""
        with get_db().write() as session:
            for key, version, created in demo.deploy_bundled(session):
                click.echo(f"{key} v{version} {'deployed' if created else 'unchanged'}")

    @app.cli.command("check-consistency")
    def check_consistency() -> None:
        """Compare every instance's rows with its engine state; exit 1 on any problem."""
        checked, problems = consistency.check_all(get_db())
        for problem in problems:
            click.echo(str(problem))
        click.echo(f"checked {checked} instance(s): {len(problems)} problem(s)")
        if problems:
            raise SystemExit(1)

    @app.cli.command("timer-worker")
    @click.option("--interval", default=5.0, help="Seconds between polls.")
    @click.option("--once", is_flag=True, help="Fire what is due now and exit.")
    @click.option("--name", default=None, help="Heartbeat name (default host:pid, host:once).")
    def timer_worker(interval: float, once: bool, name: str | None) -> None:
        """Fire due BPMN timers (and count provisional due dates again once their year's
        calendar is entered, and record the closing of resident surveys whose days are over);
        run as many of these as you like."""
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        db = get_db()
        name = name or heartbeat.default_name(once)
        started = heartbeat.wall_now()
        heartbeat.prune(db)
        while not stopping:
            heartbeat.beat(db, name, "timer", started)  # /metrics: seconds since the last beat
            # due dates counted provisionally by a worker whose calendar had not yet seen a
            # newly entered year are counted again before anything fires
            recount.sweep(db)
            fired = service.fire_due_timers(db)
            # resident surveys whose days are over get their closing in the audit trail (they
            # are closed already: that is computed whenever a survey is read)
            residents.record_closings(db)
            if fired:
                click.echo(f"fired {fired} timer(s)")
            if once:
                return  # the beat stays: a cron-driven worker is watched by its age
            if not fired:
                time.sleep(interval)
        heartbeat.forget(db, name)  # stopped on purpose: not a dead worker

    @app.cli.command("notify-worker")
    @click.option("--interval", default=5.0, help="Seconds between polls.")
    @click.option("--once", is_flag=True, help="Scan and deliver what is due now and exit.")
    @click.option("--name", default=None, help="Heartbeat name (default host:pid, host:once).")
    def notify_worker(interval: float, once: bool, name: str | None) -> None:
        """Deliver the outbox (e-mail, webhooks) with retries, and tell about tasks due soon
        or overdue; run as many of these as you like (SMTP_URL, MAIL_FROM, NOTIFY_*)."""
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        db = get_db()
        settings = channels.Settings.from_env()
        name = name or heartbeat.default_name(once)
        started = heartbeat.wall_now()
        heartbeat.prune(db)
        while not stopping:
            heartbeat.beat(db, name, "notify", started)  # as the timer worker's, on /metrics
            told = scanners.scan(db)
            done = outbox_worker.deliver_due(db, settings)
            if told or done.total:
                click.echo(
                    f"told about {told} task(s); sent {done.sent}, failed {done.failed}, "
                    f"dead {done.dead}"
                )
            for error in done.errors:
                click.echo(error, err=True)
            if once:
                return
            if not done.total:
                time.sleep(interval)
        heartbeat.forget(db, name)
