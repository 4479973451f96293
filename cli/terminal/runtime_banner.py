"""What `nango runtime start` prints once it is ready: where it listens, its database, its
environments, and the `.env` lines a project needs (a generated key appears only this once)."""

from __future__ import annotations

import logging

from cli.terminal import console as output
from runtime.service import PreparedRuntime


def render_banner(prepared: PreparedRuntime) -> None:
    settings = prepared.settings
    esc = output.esc
    listening = f" on {esc(prepared.url)}" if settings.role != "worker" else ""
    output.result(f"[bold]nango runtime[/bold] ({esc(settings.role)}){listening}")
    output.result(f"  database      {esc(prepared.database)}")
    output.result(f"  data dir      {esc(settings.data_dir)}")
    names = ", ".join(env.name for env in prepared.environments)
    output.result(f"  environments  {esc(names)}")
    if prepared.metrics_url is not None:
        output.result(f"  metrics       {esc(prepared.metrics_url)}")
    if prepared.is_encryption_key_generated:
        _warn(
            prepared,
            f"generated an encryption key in {prepared.encryption_key_file}: back it up (without "
            "it the stored credentials cannot be read), or set NANGO_ENCRYPTION_KEY",
        )
    generated = [env for env in prepared.environments if env.is_generated]
    if generated:
        output.result("")
        output.result("Secret keys generated now (shown only this once, stored hashed):")
        for env in generated:
            output.result(f"  {esc(env.name):<6}{esc(env.secret_key)}")
    output.result("")
    output.result("Put in your project's .env:")
    for env in prepared.environments:
        key = env.secret_key or f"<the {env.name} key printed when the runtime first started>"
        output.result(f"  {env.variable}={esc(key)}")
    if settings.role != "worker":
        output.result(f"  NANGO_HOSTPORT={esc(prepared.url)}")
    output.stdout().file.flush()


def _warn(prepared: PreparedRuntime, message: str) -> None:
    """A warning on stderr: a log line when the logs are JSON (stderr then holds only those)."""
    if prepared.settings.log_format == "json":
        logging.getLogger("nango.runtime").warning(message)
    else:
        output.warning(message)
