"""Finding the script a dry run names, as Nango's CLI looks it up."""

from __future__ import annotations

import difflib

from cli.config.model import ParsedConfig
from cli.project import Project, ScriptRef, declared_scripts
from runtime.errors import SetupError


def find_script(
    project: Project, config: ParsedConfig, name: str, integration_id: str | None
) -> ScriptRef:
    """The sync or action `name` (then on-event script) of the project."""
    if integration_id and config.integration(integration_id) is None:
        known = ", ".join(i.provider_config_key for i in config.integrations)
        raise SetupError(
            f'Integration "{integration_id}" does not exist', hint=f"Integrations: {known}."
        )
    scripts = [
        s for s in declared_scripts(project, config) if integration_id in (None, s.integration)
    ]
    for kinds in (("sync", "action"), ("on-event",)):
        found = [s for s in scripts if s.kind in kinds and s.name == name]
        if len(found) > 1:
            raise SetupError(
                f'Multiple integrations contain a script named "{name}"',
                hint="Choose one with --integration-id.",
            )
        if found:
            return found[0]
    close = difflib.get_close_matches(name, [s.name for s in scripts], n=3)
    where = f' for integration "{integration_id}"' if integration_id else ""
    hint = f"Did you mean {', '.join(close)}?" if close else "Check the names in nango.yaml."
    raise SetupError(f'No script matched "{name}"{where}', hint=hint)
