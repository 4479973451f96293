"""Script stubs for syncs, actions and on-event scripts that have no file yet."""

from __future__ import annotations

import unicodedata
from importlib import resources
from string import Template

from cli.config.model import Action, Integration, Sync


def _template(name: str) -> Template:
    return Template(resources.files("templates").joinpath("stubs", name).read_text("utf-8"))


# Kept out of the source as escapes: control characters (NUL would stop the file compiling),
# lone surrogates (not encodable), line and paragraph separators, and invisible format
# characters such as bidirectional overrides (which make source read differently than it runs).
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Cf", "Zl", "Zp"})


def _escape(char: str) -> str:
    if char in "\n\t" or unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _docstring_safe(text: str) -> str:
    """`text` for the inside of a `\"\"\"` docstring whose value it stays (escapes included)."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if text.isprintable():
        return text
    return "".join(_escape(c) for c in text)


def _describe(text: str) -> str:
    return f"{_docstring_safe(text)}\n" if text else ""


def _import_line(names: list[str]) -> str:
    unique = sorted(set(names))
    return ", ".join(unique)


def render_sync_stub(integration: str, sync: Sync, names: dict[str, str]) -> str:
    models = [names.get(m, m) for m in sync.output]
    imports = [*models, "NangoSync"]
    text = _template("sync.py.tmpl").substitute(
        name=sync.name,
        integration=_docstring_safe(integration),
        description=_describe(sync.description),
        runs=_docstring_safe(str(sync.runs)),
        models_text=", ".join(models) or "no model",
        first_model=sync.output[0] if sync.output else "Model",
        imports=_import_line(imports),
    )
    if sync.webhook_subscriptions:
        hooks = _docstring_safe(", ".join(str(w) for w in sync.webhook_subscriptions))
        text += _template("webhook.py.tmpl").substitute(name=sync.name, webhooks=hooks)
        text = text.replace(
            "from __future__ import annotations\n",
            "from __future__ import annotations\n\nfrom typing import Any\n",
        )
    return text


def render_action_stub(integration: str, action: Action, names: dict[str, str]) -> str:
    input_type = names.get(action.input) if action.input else None
    outputs = [names.get(o, o) for o in action.output or []]
    output_type = " | ".join(outputs) if outputs else "None"
    return _template("action.py.tmpl").substitute(
        name=action.name,
        integration=_docstring_safe(integration),
        description=_describe(action.description),
        input_text=f"`{input_type}`" if input_type else "no input",
        output_text=f"`{output_type}`",
        imports=_import_line(["ActionError", "NangoAction", *outputs, *filter(None, [input_type])]),
        input_param=f", input: {input_type}" if input_type else "",
        output_type=output_type,
    )


def render_on_event_stub(integration: Integration, name: str) -> str:
    events = [event for event, scripts in integration.on_events.items() if name in scripts]
    if name in integration.post_connection_scripts:
        events.append("post-connection-creation")
    return _template("on_event.py.tmpl").substitute(
        name=name,
        integration=_docstring_safe(integration.provider_config_key),
        events=", ".join(dict.fromkeys(events)),
    )
