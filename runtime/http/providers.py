"""The provider catalog: where each third-party API lives and how the SDK authenticates to it.

The bundled catalog is `runtime/http/providers.yaml`. Each top-level key names a provider; an
entry with `alias: other-key` starts from every setting of `other-key` and applies its own keys on
top (nested mappings are merged key by key, and an explicit `null` clears an inherited value).
Alias chains are followed; a cycle is an error.
"""

from __future__ import annotations

import difflib
import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from runtime.errors import UserError

__all__ = [
    "AuthMode",
    "Provider",
    "ProviderPagination",
    "ProviderRetry",
    "UnknownProviderError",
    "get_provider",
    "load_catalog",
]

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
]

_CATALOG_FILE = "providers.yaml"
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
_PLACEHOLDER_NAME = re.compile(
    r"apiKey|accessToken|(?:connectionConfig|credentials)\.[A-Za-z0-9_-]+"
)
_ERROR_CODE = re.compile(r"\d{3}|\dxx|\d{3}-\d{3}")
_URL_START = ("https://", "http://", "${")


def _check_template(value: str) -> str:
    """Reject `${...}` placeholders the SDK cannot fill."""
    for match in _PLACEHOLDER.finditer(value):
        if not _PLACEHOLDER_NAME.fullmatch(match.group(1)):
            raise ValueError(
                f"unknown placeholder {match.group(0)!r} (expected ${{apiKey}}, "
                "${accessToken}, ${connectionConfig.<name>} or ${credentials.<name>})"
            )
    return value


def _check_url(value: str) -> str:
    if not value.startswith(_URL_START):
        raise ValueError(
            f"{value!r} must start with https://, http:// or a ${{connectionConfig.<name>}} "
            "placeholder"
        )
    return _check_template(value)


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


class ProviderRetry(BaseModel):
    """Rate-limit headers and status codes the SDK uses to decide when to retry."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: str | list[str] | None = None
    after: str | list[str] | None = None
    remaining: str | None = None
    error_code: list[str] | None = None

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
    base_url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    token_url: str | None = None
    paginate: ProviderPagination | None = None
    retry: ProviderRetry | None = None
    alias: str | None = None

    @field_validator("base_url", "token_url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    @field_validator("headers", "query")
    @classmethod
    def _valid_templates(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            _check_template(template)
        return value

    @model_validator(mode="after")
    def _api_key_is_sent(self) -> Provider:
        if self.auth_mode == "API_KEY":
            sent = [*self.headers.values(), *self.query.values()]
            if not any("${apiKey}" in template for template in sent):
                raise ValueError("API_KEY providers must send ${apiKey} in headers or query")
        return self


class UnknownProviderError(UserError):
    """A provider key that is not in the catalog."""

    def __init__(self, key: str, known: list[str]) -> None:
        self.key = key
        self.suggestions = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
        message = f"Unknown provider {key!r}."
        if self.suggestions:
            message += " Did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        super().__init__(
            message,
            hint="Provider keys are listed in runtime/http/providers.yaml (bundled catalog).",
        )


class _UniqueKeyLoader(yaml.SafeLoader):
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


def _parse(text: str, source: str) -> dict[str, dict[str, Any]]:
    """Parse the catalog text into raw entries, checking only the outer shape."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping of provider keys to entries")
    entries: dict[str, dict[str, Any]] = {}
    for key, entry in data.items():
        if not isinstance(key, str) or not key:
            raise UserError(f"{source}: provider keys must be non-empty strings, got {key!r}")
        if not isinstance(entry, dict):
            raise UserError(f"{source}: provider {key!r}: entry must be a mapping")
        if "key" in entry:
            raise UserError(
                f"{source}: provider {key!r}: field 'key': must not be set "
                "(an entry's key is its name in the file)"
            )
        entries[key] = entry
    return entries


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Overlay `overlay` on `base`; nested mappings are merged, anything else is replaced."""
    merged = dict(base)
    for name, value in overlay.items():
        inherited = merged.get(name)
        if isinstance(inherited, dict) and isinstance(value, dict):
            merged[name] = _merge(inherited, value)
        else:
            merged[name] = value
    return merged


def _alias_chain(key: str, entries: dict[str, dict[str, Any]], source: str) -> list[str]:
    """`key` followed by each alias target in turn, up to an entry that is not an alias."""
    chain = [key]
    while (target := entries[chain[-1]].get("alias")) is not None:
        if not isinstance(target, str):
            raise UserError(f"{source}: provider {chain[-1]!r}: field 'alias': must be a string")
        if target in chain:
            cycle = " -> ".join([*chain[chain.index(target) :], target])
            raise UserError(f"{source}: provider {key!r}: field 'alias': alias cycle {cycle}")
        if target not in entries:
            raise UserError(
                f"{source}: provider {chain[-1]!r}: field 'alias': unknown provider {target!r}"
            )
        chain.append(target)
    return chain


def _resolve(key: str, entries: dict[str, dict[str, Any]], source: str) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for link in reversed(_alias_chain(key, entries, source)):
        resolved = _merge(resolved, entries[link])
    return resolved


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "<entry>"
        parts.append(f"field {field!r}: {error['msg']}")
    return "; ".join(parts)


def _build(text: str, source: str) -> dict[str, Provider]:
    entries = _parse(text, source)
    catalog: dict[str, Provider] = {}
    problems: list[str] = []
    for key in sorted(entries):
        data = _resolve(key, entries, source)
        try:
            catalog[key] = Provider.model_validate({**data, "key": key})
        except ValidationError as exc:
            problems.append(f"provider {key!r}: {_describe(exc)}")
    if problems:
        raise UserError(f"{source}: invalid provider catalog:\n  " + "\n  ".join(problems))
    return catalog


@functools.lru_cache(maxsize=1)
def _bundled_catalog() -> dict[str, Provider]:
    text = resources.files("runtime.http").joinpath(_CATALOG_FILE).read_text(encoding="utf-8")
    return _build(text, f"runtime/{_CATALOG_FILE}")


def load_catalog(path: Path | None = None) -> dict[str, Provider]:
    """Load and resolve a provider catalog; the bundled one (cached) when `path` is None."""
    if path is None:
        return dict(_bundled_catalog())
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read provider catalog {path}: {exc.strerror or exc}") from exc
    return _build(text, str(path))


def get_provider(key: str) -> Provider:
    """The bundled catalog's entry for `key`, aliases resolved."""
    catalog = _bundled_catalog()
    try:
        return catalog[key]
    except KeyError:
        raise UnknownProviderError(key, sorted(catalog)) from None
