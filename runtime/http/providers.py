"""The provider catalog: where each third-party API lives and how the SDK authenticates to it.

Two files feed it. The bundled `runtime/http/providers.yaml` is ours, in a flat layout (one mapping
of facts per provider key). When `NANGO_PROVIDERS_FILE` names a file in Nango's own format (its
`providers.yaml`, with the proxy facts under `proxy:`), that file is layered over ours: each of its
entries replaces ours of the same key, and its other entries are added.

Aliases follow Nango's rule in both files: an entry with `alias: other` starts from every resolved
setting of `other`, and each field it sets replaces the inherited one whole (mappings are not
merged). The proxy facts (`base_url`, `headers`, `query`, `paginate`, `retry`) travel together, as
Nango's `proxy` block does: an alias entry that sets any of them inherits none of the target's.
Alias chains are followed, across both files; a cycle is an error.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from runtime.errors import UserError

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

__all__ = [
    "PROVIDERS_FILE_VARIABLE",
    "AuthMode",
    "Provider",
    "ProviderPagination",
    "ProviderRetry",
    "UnknownProviderError",
    "get_provider",
    "load_catalog",
    "unfillable_placeholder",
]

PROVIDERS_FILE_VARIABLE = "NANGO_PROVIDERS_FILE"

AuthMode = Literal[
    "OAUTH2",
    "OAUTH2_CC",
    "API_KEY",
    "BASIC",
    "NONE",
    "APP",
    "JWT",
    "TWO_STEP",
    "OAUTH1",
    "TBA",
    "SIGNATURE",
    "CUSTOM",
    "BILL",
    "AWS_SIGV4",
    "MCP_OAUTH2",
    "MCP_OAUTH2_GENERIC",
    "INSTALL_PLUGIN",
]

_CATALOG_FILE = "providers.yaml"
_PROXY_FIELDS = frozenset({"base_url", "headers", "query", "paginate", "retry"})
_OAUTH_FIELDS = (
    "authorization_url",
    "authorization_params",
    "scope_separator",
    "default_scopes",
    "disable_pkce",
    "authorization_method",
    "body_format",
    "token_params",
    "refresh_url",
    "refresh_params",
    "token_request_auth_method",
    "token_headers",
    "token_response_metadata",
)
_NANGO_TOP_FIELDS = ("display_name", "auth_mode", "token_url", "alias", *_OAUTH_FIELDS)
_FILLABLE = re.compile(
    r"\$\{(?:apiKey|accessToken|(?:connectionConfig|credentials)\.[A-Za-z0-9_-]+)\}"
)
_ERROR_CODE = re.compile(r"\d{3}|\dxx|\d{3}-\d{3}")
_URL_START = ("https://", "http://", "${")
_MAX_PROBLEMS_SHOWN = 20


def _placeholders(template: str) -> Iterator[tuple[int, str]]:
    """Each `${...}` of a template (nested ones inside a function call included in the outer)."""
    start = template.find("${")
    while start != -1:
        depth, end = 0, start
        while end < len(template):
            depth += {"{": 1, "}": -1}.get(template[end], 0)
            if depth == 0 and template[end] == "}":
                break
            end += 1
        yield start, template[start : end + 1]
        start = template.find("${", end + 1)


def unfillable_placeholder(template: str) -> str | None:
    """The first `${...}` of `template` the SDK cannot fill, or None.

    The SDK fills `${apiKey}`, `${accessToken}`, `${connectionConfig.<name>}` and
    `${credentials.<name>}`. Nango's catalog also uses computed values (`${now:...}`,
    `${base64(...)}`, `${awsSigV4(...)}`...), which a catalog may hold but a request cannot use."""
    for _, placeholder in _placeholders(template):
        if not _FILLABLE.fullmatch(placeholder):
            return placeholder
    return None


def _check_url(value: str) -> str:
    if not value.startswith(_URL_START):
        raise ValueError(
            f"{value!r} must start with https://, http:// or a ${{connectionConfig.<name>}} "
            "placeholder"
        )
    return value


class ProviderPagination(BaseModel):
    """Default pagination settings for a provider's list endpoints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["cursor", "link", "offset"] | None = None
    limit_name_in_request: str | None = None
    cursor_name_in_request: str | None = None
    cursor_path_in_response: str | None = None
    response_path: str | None = None
    link_rel_in_response_header: str | None = None
    link_path_in_response_body: str | None = None
    offset_name_in_request: str | None = None
    offset_start_value: int | str | None = None


class ProviderRetryInBody(BaseModel):
    """A wait found in an error body: `value` is a regex (in slashes) whose group is the wait."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    value: str
    strategy: Literal["at", "after"]


class ProviderRetry(BaseModel):
    """Rate-limit headers and status codes the SDK uses to decide when to retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str | list[str] | None = None
    after: str | list[str] | None = None
    remaining: str | None = None
    error_code: list[str] | None = None
    in_body: ProviderRetryInBody | None = None

    @field_validator("error_code")
    @classmethod
    def _valid_error_codes(cls, value: list[str] | None) -> list[str] | None:
        for code in value or []:
            if not _ERROR_CODE.fullmatch(code):
                raise ValueError(f"{code!r} is not a status code, a class like '5xx' or a range")
        return value


class Provider(BaseModel):
    """One resolved catalog entry (aliases already merged in)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    display_name: str = Field(min_length=1)
    auth_mode: AuthMode
    base_url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    token_url: str | dict[str, str] | None = None
    paginate: ProviderPagination | None = None
    retry: ProviderRetry | None = None
    alias: str | None = None
    # OAuth (the connect flow, token refresh, client-credentials tokens), as Nango names them.
    authorization_url: str | None = None
    authorization_params: dict[str, Any] = Field(default_factory=dict)
    scope_separator: str | None = None
    default_scopes: list[str] = Field(default_factory=list)
    disable_pkce: bool = False
    authorization_method: Literal["body", "header"] | None = None
    body_format: str | None = None
    token_params: dict[str, Any] = Field(default_factory=dict)
    refresh_url: str | None = None
    refresh_params: dict[str, Any] = Field(default_factory=dict)
    token_request_auth_method: str | None = None
    token_headers: dict[str, str] = Field(default_factory=dict)
    token_response_metadata: list[str] = Field(default_factory=list)

    @field_validator("base_url", "authorization_url", "refresh_url")
    @classmethod
    def _valid_base_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("token_url")
    @classmethod
    def _valid_token_url(cls, value: str | dict[str, str] | None) -> str | dict[str, str] | None:
        for url in value.values() if isinstance(value, dict) else [value]:
            if url is not None:
                _check_url(url)
        return value

    def token_url_for(self, auth_mode: str) -> str | None:
        """The token URL used with `auth_mode` (Nango keys some by auth mode)."""
        if isinstance(self.token_url, dict):
            return self.token_url.get(auth_mode)
        return self.token_url


class UnknownProviderError(UserError):
    """A provider key that is not in the catalog."""

    def __init__(self, key: str, known: list[str]) -> None:
        self.key = key
        import difflib

        self.suggestions = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        message = f"Unknown provider {key!r}."
        if self.suggestions:
            message += " Did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(
            message,
            hint="Provider keys are listed in runtime/http/providers.yaml (bundled catalog). "
            f"To use any provider of Nango's catalog, set {PROVIDERS_FILE_VARIABLE} to the path "
            "of Nango's providers.yaml.",
        )


# --- reading catalog files -----------------------------------------------------------------------


class _UniqueKeyLoader(_SafeLoader):
    """A safe loader that rejects duplicate mapping keys instead of keeping the last one."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


@dataclass(frozen=True)
class _Entry:
    """One provider entry as written, in our flat layout, and where it was written."""

    fields: dict[str, Any]
    origin: str


def _yaml_problem(exc: yaml.YAMLError, source: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: invalid YAML: {problem}"


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Any, int]]:
    """The document, and the line of each top-level key."""
    loader = _UniqueKeyLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise UserError(_yaml_problem(exc, source)) from exc
    except RecursionError as exc:  # pragma: no cover - libyaml stops at a depth of 1000 first
        raise UserError(f"{source}: invalid YAML: nested too deeply") from exc
    finally:
        loader.dispose()
    lines: dict[Any, int] = {}
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines.setdefault(key_node.value, key_node.start_mark.line + 1)
    return data, lines


def _entries(text: str, source: str, *, nango_format: bool) -> dict[str, _Entry]:
    """Parse a catalog file into entries in our flat layout, checking only the outer shape."""
    data, lines = _read_yaml(text, source)
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of provider keys to entries")
    entries: dict[str, _Entry] = {}
    for key, entry in data.items():
        origin = f"{source}:{lines.get(key, 1)}"
        if not isinstance(key, str) or not key:
            raise UserError(f"{origin}: provider keys must be non-empty strings, got {key!r}")
        if not isinstance(entry, dict):
            raise UserError(f"{origin}: provider {key!r}: entry must be a mapping")
        if nango_format:
            entry = _flat_from_nango(key, entry, origin)
        elif "key" in entry:
            raise UserError(
                f"{origin}: provider {key!r}: field 'key': must not be set "
                "(an entry's key is its name in the file)"
            )
        entries[key] = _Entry(entry, origin)
    return entries


def _flat_from_nango(key: str, entry: dict[str, Any], origin: str) -> dict[str, Any]:
    """The facts we use from a Nango entry, in our layout; Nango's other fields are left out."""
    flat = {name: entry[name] for name in _NANGO_TOP_FIELDS if name in entry}
    if "proxy" not in entry:
        return flat
    proxy = entry["proxy"]
    if not isinstance(proxy, dict):
        raise UserError(f"{origin}: provider {key!r}: field 'proxy': must be a mapping")
    # A proxy block replaces the aliased one whole in Nango, base URL included.
    flat["base_url"] = proxy.get("base_url")
    flat.update({name: proxy[name] for name in _PROXY_FIELDS if name in proxy})
    return flat


def _alias_chain(key: str, entries: dict[str, _Entry]) -> list[str]:
    """`key` followed by each alias target in turn, up to an entry that is not an alias."""
    chain = [key]
    while (target := entries[chain[-1]].fields.get("alias")) is not None:
        where = f"{entries[chain[-1]].origin}: provider {chain[-1]!r}: field 'alias'"
        if not isinstance(target, str):
            raise UserError(f"{where}: must be a string")
        if target in chain:
            cycle = " -> ".join([*chain[chain.index(target) :], target])
            raise UserError(f"{where}: alias cycle {cycle}")
        if target not in entries:
            raise UserError(f"{where}: unknown provider {target!r}")
        chain.append(target)
    return chain


def _resolve(key: str, entries: dict[str, _Entry]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for link in reversed(_alias_chain(key, entries)):
        fields = entries[link].fields
        if _PROXY_FIELDS & fields.keys():
            resolved = {name: v for name, v in resolved.items() if name not in _PROXY_FIELDS}
        resolved.update(fields)
    return resolved


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "<entry>"
        parts.append(f"field {field!r}: {error['msg']}")
    return "; ".join(parts)


def _build(entries: dict[str, _Entry], hint: str | None = None) -> dict[str, Provider]:
    catalog: dict[str, Provider] = {}
    problems: list[str] = []
    for key in sorted(entries):
        try:
            catalog[key] = Provider.model_validate({**_resolve(key, entries), "key": key})
        except ValidationError as exc:
            problems.append(f"{entries[key].origin}: provider {key!r}: {_describe(exc)}")
        except UserError as exc:  # a broken alias chain
            problems.append(exc.message)
    if problems:
        shown = problems[:_MAX_PROBLEMS_SHOWN]
        if len(problems) > len(shown):
            shown.append(f"... and {len(problems) - len(shown)} more")
        raise UserError("invalid provider catalog:\n  " + "\n  ".join(shown), hint=hint)
    return catalog


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UserError(f"cannot read {what} {path}: {reason}") from exc


@functools.lru_cache(maxsize=1)
def _bundled_entries() -> dict[str, _Entry]:
    text = resources.files("runtime.http").joinpath(_CATALOG_FILE).read_text(encoding="utf-8")
    return _entries(text, f"runtime/http/{_CATALOG_FILE}", nango_format=False)


@functools.lru_cache(maxsize=1)
def _bundled_catalog() -> dict[str, Provider]:
    return _build(_bundled_entries())


_LAYER_HINT = (
    f"{PROVIDERS_FILE_VARIABLE} must name a provider catalog in Nango's providers.yaml format "
    "(provider keys mapping to display_name, auth_mode, proxy: {base_url, ...}); unset it to "
    "use the bundled catalog alone."
)


@functools.lru_cache(maxsize=4)
def _layered_catalog(path: Path, _version: tuple[int, int]) -> dict[str, Provider]:
    """Ours with the Nango-format file at `path` over it (cached per file version)."""
    try:
        layer = _entries(_read_text(path, "provider catalog"), str(path), nango_format=True)
    except UserError as exc:
        raise UserError(exc.message, hint=_LAYER_HINT) from exc
    return _build({**_bundled_entries(), **layer}, hint=_LAYER_HINT)


def _file_version(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError as exc:
        raise UserError(
            f"cannot read provider catalog {path} ({PROVIDERS_FILE_VARIABLE}): "
            f"{exc.strerror or exc}",
            hint=_LAYER_HINT,
        ) from exc
    return status.st_mtime_ns, status.st_size


def _active_catalog() -> dict[str, Provider]:
    setting = os.environ.get(PROVIDERS_FILE_VARIABLE, "").strip()
    if not setting:
        return _bundled_catalog()
    path = Path(setting).expanduser().resolve()
    return _layered_catalog(path, _file_version(path))


def load_catalog(
    path: Path | None = None, *, nango_file: Path | None = None
) -> dict[str, Provider]:
    """Load and resolve a provider catalog.

    `path` is a catalog in our layout (the bundled one, cached, when None); `nango_file`, a
    catalog in Nango's format layered over it. Neither given: the catalog `get_provider` uses
    (the bundled one, with the file named by `NANGO_PROVIDERS_FILE` over it when set)."""
    if path is None and nango_file is None:
        return dict(_active_catalog())
    if path is None:
        base = _bundled_entries()
    else:
        base = _entries(_read_text(path, "provider catalog"), str(path), nango_format=False)
    if nango_file is None:
        return _build(base)
    text = _read_text(nango_file, "provider catalog")
    return _build({**base, **_entries(text, str(nango_file), nango_format=True)})


def get_provider(key: str) -> Provider:
    """The catalog's entry for `key`, aliases resolved (see the module docstring)."""
    catalog = _active_catalog()
    try:
        return catalog[key]
    except KeyError:
        raise UnknownProviderError(key, sorted(catalog)) from None
