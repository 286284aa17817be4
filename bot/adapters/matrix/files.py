"""Handing a member a file (their copy of their data): uploaded to the homeserver's media
repository, then posted as an `m.file` event in their direct room with the bot.

The upload is the one request nio makes without a time limit (and would retry forever while the
homeserver is away), so it runs under its own; a refusal or a timeout becomes words the member
reads in place of the file, never an exception that leaves them with no answer.
"""

from __future__ import annotations

import asyncio
import io
import logging
import mimetypes

import aiohttp

from bot.adapters.matrix.connection import ClientSource, JsonDict, error_text, is_error

log = logging.getLogger(__name__)

UPLOAD_WAIT = 60.0  # seconds an upload may take before the member is told it failed


class FileRefused(Exception):
    """The homeserver did not take the file; the message says why, for the member."""


def mimetype(filename: str) -> str:
    """The file's type from its name (`.json` is application/json), else plain bytes."""
    guessed, _ = mimetypes.guess_type(filename, strict=False)
    return guessed or "application/octet-stream"


async def upload(client: ClientSource, filename: str, data: bytes) -> str:
    """Put `data` in the media repository; returns its mxc:// address."""
    try:
        async with asyncio.timeout(UPLOAD_WAIT):
            answer, _ = await client().upload(
                io.BytesIO(data),
                content_type=mimetype(filename),
                filename=filename,
                filesize=len(data),
            )
    except TimeoutError as exc:
        log.warning("a file upload took longer than %s s; given up", UPLOAD_WAIT)
        raise FileRefused("the server did not answer in time") from exc
    except (OSError, aiohttp.ClientError) as exc:
        log.warning("a file upload failed: %s", type(exc).__name__)
        raise FileRefused("the server could not be reached") from exc
    if is_error(answer):
        log.warning("the homeserver refused a file upload: %s", error_text(answer))
        said = getattr(answer, "message", None)
        raise FileRefused(f'the server refused it ("{said}")' if said else "the server refused it")
    return str(answer.content_uri)


def file_content(filename: str, url: str, size: int) -> JsonDict:
    """An `m.file` message: named, typed and sized, pinging no one."""
    return {
        "msgtype": "m.file",
        "body": filename,
        "filename": filename,
        "url": url,
        "info": {"mimetype": mimetype(filename), "size": size},
        "m.mentions": {},
    }


def not_sent(filename: str, why: str) -> str:
    """What the member reads when their file could not be handed over."""
    return (
        f"I could not send you the file {filename}: {why}. Nothing was changed. Please ask"
        " again in a little while, and tell a moderator if it keeps failing."
    )
