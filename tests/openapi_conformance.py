"""Check recorded HTTP requests against a provider's OpenAPI file.

openapi-core checks the operation (method + path), parameter values, security and the body against
its schema, with `additionalProperties` false unless the file says otherwise (so a JSON body with
an undeclared key fails). It silently ignores query parameters and form fields that the operation
does not declare, so those two are checked here: a photo sent as `file` instead of `photo` fails.

Paths are taken relative to the API root: the file's `servers` are replaced by `/`, so a
deployment's host, port and base path do not matter.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

import httpx
import yaml
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.templating.paths.finders import APICallPathFinder
from werkzeug.datastructures import Headers, ImmutableMultiDict

_HOST = "http://provider.invalid"
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class RequestLike(Protocol):
    """What the checker reads from a recorded request (a fake server's record fits as it is)."""

    @property
    def method(self) -> str: ...

    @property
    def path(self) -> str:
        """The path relative to the API root (no host, no deployment base path)."""

    @property
    def query(self) -> Sequence[tuple[str, str]]: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content_type(self) -> str: ...

    @property
    def body(self) -> bytes: ...


@dataclass(frozen=True)
class Recorded:
    """A request written by hand (or taken from httpx) for the checker."""

    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = ""
    body: bytes = b""

    @classmethod
    def from_httpx(cls, request: httpx.Request, *, base_path: str = "") -> Recorded:
        """Take an `httpx.Request`; `base_path` is the deployment prefix to strip from its path."""
        return cls(
            method=request.method,
            path=request.url.path.removeprefix(base_path.rstrip("/")) or "/",
            query=request.url.params.multi_items(),
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            body=request.read(),
        )


class _Request:
    """The shape openapi-core's validators read."""

    def __init__(self, request: RequestLike) -> None:
        self.host_url = _HOST
        self.path = request.path
        self.method = request.method.lower()
        self.content_type = request.content_type.lower()
        self.body = request.body
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.query)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )


class OpenApiContract:
    """One OpenAPI file, ready to judge requests."""

    def __init__(
        self, spec_path: Path, *, paths: Iterable[str] | None = None, binary_parts: bool = False
    ) -> None:
        """`paths`: judge by these path templates only, where the file has templates that match
        the same URLs (Meta's `/{Version}/{Phone-Number-ID}` and `/{Version}/{group_id}`).
        `binary_parts`: an OpenAPI 3.1 file that types a file part `type: string, format:
        binary` (3.0's spelling) means bytes; openapi-core would want text there."""
        self.spec_path = spec_path
        self._document = _load(spec_path)
        if binary_parts:
            _untype_binary(self._document)
        if paths is not None:
            kept = set(paths)
            self._document["paths"] = {
                template: item
                for template, item in self._document.get("paths", {}).items()
                if template in kept
            }
        self._apps: dict[bool, OpenAPI] = {}

    def problems(self, request: RequestLike, *, security: bool = True) -> list[str]:
        """Everything wrong with `request`; `security=False` for deployments without auth."""
        app = self._app(security)
        where = f"{request.method.upper()} {request.path}"
        errors = [_describe(error) for error in app.iter_request_errors(_Request(request))]
        try:
            path, operation, *_ = APICallPathFinder(app.spec).find(
                request.method.lower(), _HOST + request.path
            )
        except PathError:
            return [f"{where}: {error}" for error in errors]
        errors += _undeclared(
            "query parameter", (name for name, _ in request.query), _query_names(path, operation)
        )
        declared_fields = _form_field_names(operation, request.content_type)
        if declared_fields is not None:
            sent = _sent_form_fields(request.content_type, request.body)
            errors += _undeclared("form field", sent, declared_fields)
        return [f"{where}: {error}" for error in errors]

    def assert_conforms(self, request: RequestLike, *, security: bool = True) -> None:
        """Raise AssertionError listing the problems, if any."""
        problems = self.problems(request, security=security)
        if problems:
            raise AssertionError(
                f"request does not match {self.spec_path}:\n" + "\n".join(problems)
            )

    def _app(self, security: bool) -> OpenAPI:
        if security not in self._apps:
            document = copy.deepcopy(self._document)
            document["servers"] = [{"url": "/"}]
            if not security:
                _drop_security(document)
            # the file is judged by the requests it describes, not itself (WAHA's has slips)
            config = Config(additional_properties_default_policy="forbid", spec_validator_cls=None)
            self._apps[security] = OpenAPI.from_dict(document, config=config)
        return self._apps[security]


def _load(spec_path: Path) -> dict[str, Any]:
    """The file's document, the caller's own copy to change."""
    return copy.deepcopy(_parsed(spec_path))


@functools.cache
def _parsed(spec_path: Path) -> dict[str, Any]:
    """Each file read once (Meta's is 1 MB of YAML: 4.5 s with PyYAML's Python loader, 0.9 s
    with its libyaml one, which PyYAML's wheels bring)."""
    text = spec_path.read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    document = json.loads(text) if spec_path.suffix == ".json" else yaml.load(text, Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f"{spec_path} is not an OpenAPI document")
    return document


def _untype_binary(node: Any) -> None:
    """Let every `type: string, format: binary` schema take bytes (3.1: any content)."""
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "binary":
            del node["type"]
        for value in node.values():
            _untype_binary(value)
    elif isinstance(node, list):
        for value in node:
            _untype_binary(value)


def _drop_security(document: dict[str, Any]) -> None:
    document.pop("security", None)
    for item in document.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict):
                operation.pop("security", None)


def _describe(error: Exception) -> str:
    """One line: what openapi-core found, in the schema's own words when it has them."""
    cause = error.__cause__
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        return f"{error}: " + "; ".join(str(problem.message) for problem in schema_errors)
    if cause is not None and str(cause) not in str(error):
        return f"{error}: {cause}"
    return str(error)


def _query_names(path: SchemaPath, operation: SchemaPath) -> set[str]:
    names = set()
    for owner in (path, operation):
        for parameter in owner.get("parameters", []):
            if (parameter / "in").read_str() == "query":
                names.add((parameter / "name").read_str())
    return names


def _form_field_names(operation: SchemaPath, content_type: str) -> set[str] | None:
    """The fields the operation declares for this form content type; None when not checkable."""
    mimetype = content_type.split(";")[0].strip().lower()
    if mimetype not in _FORM_TYPES or "requestBody" not in operation:
        return None
    content = operation / "requestBody" / "content"
    if mimetype not in content or "schema" not in content / mimetype:
        return None
    schema = content / mimetype / "schema"
    if schema.get("additionalProperties", False) is not False:
        return None
    return set(schema.get("properties", {}).keys())


def _sent_form_fields(content_type: str, body: bytes) -> list[str]:
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        return [name for name, _ in parse_qsl(body.decode("utf-8"), keep_blank_values=True)]
    message = message_from_bytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        return []
    return [
        str(part.get_param("name", header="content-disposition"))
        for part in message.get_payload()
        if isinstance(part, Message)
    ]


def _undeclared(what: str, sent: Iterable[str], declared: set[str]) -> list[str]:
    unknown = sorted(set(sent) - declared)
    known = ", ".join(sorted(declared)) or "none"
    return [f"{what} {name!r} is not declared (declared: {known})" for name in unknown]
