"""Input that must never become a 500 (issue 13, finding 6).

- Ids in URLs beyond what an id column holds (INTEGER: 2**31 - 1 on PostgreSQL; beyond 64 bits
  SQLite's driver raised OverflowError): the `int` URL converter refuses them (404, as for any
  unknown id); the OpenAPI document says so (maximum).
- JSON bodies nested deeper than MAX_JSON_DEPTH (default 64) or too deep for the parser (`[` x
  100,000): 400, for every reader of JSON (flask's request.get_json and, under /api/, a check
  before flask-smorest/webargs parses the body with the standard library).
- Text with a NUL character or an unpaired surrogate (PostgreSQL refuses the first, UTF-8 cannot
  encode the second) in a JSON body, a query string, a form or the path: 400, on both databases.
- Bodies over MAX_CONTENT_LENGTH: 413 with the usual error body (Werkzeug refuses them unread).
- Numbers too large for the database that slip through a schema: 422, not 500 (a last resort in
  app.error_pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the id columns are INTEGER (PostgreSQL: 32 bits)
DEFAULT_MAX_JSON_DEPTH = 64


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only ids the database can hold: a larger number is a 404."""

    def __init__(
        self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID, signed: bool = False
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=MAX_ID if max is None else max, signed=signed)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL; lone surrogates
UNSTORABLE_MESSAGE = "The request holds a character that cannot be stored (a NUL character or an unpaired surrogate)"


def unstorable(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def _problem(value: Any, limit: int) -> str | None:
    """'depth' (lists/objects nested more than `limit` levels), 'text' (a string that cannot be
    stored) or None. Iterative: no recursion of our own."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if unstorable(item):
                return "text"
            continue
        if isinstance(item, dict):
            children: Iterable[Any] = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return "depth"
        stack.extend((child, depth + 1) for child in children)
    return None


def _max_depth() -> int:
    return int(current_app.config.get("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH))


class GuardedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested too deeply or holding unstorable text as invalid JSON
    (a ValueError, which request.get_json answers 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON is nested too deeply") from None
        limit = int(self._app.config.get("MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH))
        problem = _problem(value, limit)
        if problem == "depth":
            raise ValueError(f"the JSON is nested more than {limit} levels deep")
        if problem == "text":
            raise UnstorableText(UNSTORABLE_MESSAGE)
        return value


class UnstorableText(ValueError):
    pass


def check_json_body() -> None:
    """Parse a JSON request body once through the guarded loader, so nothing later (webargs parses
    with the standard library) meets one too deep or with unstorable text. 400 with a message,
    413 when too large."""
    if not request.is_json or (not request.content_length and not request.headers.get("Transfer-Encoding")):
        return
    try:
        request.get_json(cache=True)
    except BadRequest as err:
        cause: BaseException | None = err
        for _ in range(4):  # Flask's BadRequest, from Werkzeug's, from the loader's ValueError
            cause = cause.__cause__ or cause.__context__ if cause is not None else None
            if isinstance(cause, UnstorableText):
                raise BadRequest(UNSTORABLE_MESSAGE) from None
        raise BadRequest(
            f"The request body is not valid JSON, or it is nested too deeply (at most {_max_depth()} levels)"
        ) from err


def check_text_params() -> None:
    """400 for a NUL or a lone surrogate in the path, the query string or a form field."""
    values: list[str] = [str(v) for v in (request.view_args or {}).values() if isinstance(v, str)]
    values.extend(k for k in request.args)
    values.extend(v for _, v in request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        values.extend(k for k in request.form)
        values.extend(v for _, v in request.form.items(multi=True))
        values.extend(f.filename or "" for _, f in request.files.items(multi=True))
    # A multipart part without a name has the key None (werkzeug): nothing to store, nothing to check.
    if any(unstorable(v) for v in values if v is not None):
        raise BadRequest(UNSTORABLE_MESSAGE)


def _check_pages() -> None:
    if not request.path.startswith("/api/"):  # the API checks after authenticating (auth_helpers)
        check_text_params()


def install(app: Flask, api: Any) -> None:
    """Call before any blueprint is registered (the converter applies to rules added after it)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = GuardedJSONProvider(app)
    app.before_request(_check_pages)
    api.register_converter(BoundedIntConverter, _int_schema)


def _int_schema(converter: BoundedIntConverter) -> dict:
    schema: dict[str, Any] = {"type": "integer", "maximum": converter.max}
    schema["minimum"] = converter.min if converter.min is not None else (0 if not converter.signed else -MAX_ID)
    return schema
