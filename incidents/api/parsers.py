"""The API's body parser (`REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]`): DRF's JSON parser, bounded.

The API takes JSON and nothing else, so the OpenAPI schema declares every request body as
`application/json` alone and a client generated from it has one way to send each body (forms and multipart
made generators such as openapi-python-client emit code that does not import). Another Content-Type is a
415 naming it. The admin keeps its HTML forms: it is Django, not DRF.

- Size: a body over `settings.API_MAX_BODY_BYTES` (1 MiB by default) is a 413 `payload_too_large`, refused
  on its Content-Length before anything is read, and never read past the limit otherwise. (Where Django
  reads `request.body` itself it stops at `DATA_UPLOAD_MAX_MEMORY_SIZE`, set to the same limit;
  `incidents.api.errors.bad_request` answers that one alike.)
- Depth (JSON): nesting deeper than `MAX_JSON_DEPTH` is a 400 `parse_error`. Python's decoder recurses once
  per level and a thousand levels fit in a few kilobytes: without the check such a body was a
  `RecursionError`, a 500. The depth is counted by a scan without recursion before decoding.

The alert intake (`incidents.api.alerts`) reads its raw body itself, with its own limit.
"""

from __future__ import annotations

import codecs
import json
import re

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

from incidents.exceptions import PayloadTooLarge

# The API's deepest input is a policy's list of steps (3 levels); 32 leaves room and refuses abuse.
MAX_JSON_DEPTH = 32
DEPTH_MESSAGE = f"JSON nested deeper than {MAX_JSON_DEPTH} levels."
# What changes the depth or the meaning of the characters after it: brackets, quotes and escapes.
_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def max_body_bytes() -> int:
    return settings.API_MAX_BODY_BYTES


def too_large_message(*, size: int | None, limit: int) -> str:
    has = f"has {size} bytes" if size else "is larger than that"
    return f"The body {has}; at most {limit} bytes are accepted."


def _too_large(size: int | None = None) -> PayloadTooLarge:
    return PayloadTooLarge(too_large_message(size=size, limit=max_body_bytes()))


def declared_size(request) -> int:
    """The request's Content-Length, 0 when absent or unreadable."""
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0)) if request is not None else 0
    except ValueError:
        return 0


def _check_declared_size(parser_context: dict) -> None:
    declared = declared_size(parser_context.get("request"))
    if declared > max_body_bytes():
        raise _too_large(declared)


def read_bounded(stream, parser_context: dict) -> bytes:
    """The whole body, or PayloadTooLarge once it passes the limit (one byte more is read, to tell)."""
    _check_declared_size(parser_context)
    limit = max_body_bytes()
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise _too_large()
    return body


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether `text` opens more than `limit` arrays or objects inside one another, brackets inside
    strings not counting. One pass over the structural characters, no recursion, stopping at the limit."""
    depth, in_string, escaped_until = 0, False, -1
    for match in _STRUCTURE.finditer(text):
        position, char = match.start(), match.group()
        if position < escaped_until:
            continue  # the character after a backslash
        if in_string:
            if char == "\\":
                escaped_until = position + 2
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        body = read_bounded(stream, parser_context)
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.decode(body, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text.") from exc
        if json_depth_exceeds(text, MAX_JSON_DEPTH):
            raise ParseError(DEPTH_MESSAGE)
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError as exc:  # not reachable past the depth check; never a 500 all the same
            raise ParseError(DEPTH_MESSAGE) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
