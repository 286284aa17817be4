"""Turn what a person typed (or picked) into a command's typed values, the same on every network.

Discord hands over named option values; Matrix hands over words. Both are checked here against
the `CommandSpec`, so a malformed command gets the same clear usage line everywhere.
"""

from __future__ import annotations

from typing import Any

from bot.adapters.base import ChatAdapter
from bot.messages import either
from bot.model import CommandError, CommandInvocation, CommandSpec, ParamKind, ParamSpec

# How much of what someone typed an answer repeats: enough to recognise it, and short enough
# that the answer fits in any chat message (Discord refuses answers over 2,000 characters, and a
# Matrix event over 64 KiB), however long the words were.
QUOTE_CHARS = 60


MAX_DIGITS = 12


def usage_error(spec: CommandSpec, prefix: str, problem: str) -> CommandError:
    return CommandError(f"{problem}\nUsage: {spec.usage(prefix)}\n{spec.help}")


def shortened(text: str) -> str:
    """`text` cut to QUOTE_CHARS characters (ending in … when cut), to repeat in an answer."""
    return text if len(text) <= QUOTE_CHARS else f"{text[:QUOTE_CHARS]}…"


def quoted(text: str) -> str:
    return repr(shortened(text))


def _convert(
    spec: CommandSpec,
    param: ParamSpec,
    raw: str,
    invocation: CommandInvocation,
    adapter: ChatAdapter,
    prefix: str,
) -> Any:
    text = raw.strip()
    if param.kind is ParamKind.CHOICE:
        value = text.lower()
        if value not in param.choices:
            raise usage_error(
                spec,
                prefix,
                f"{quoted(text)} is not one of the choices: {either(list(param.choices))}.",
            )
        return param.enum(value) if param.enum is not None else value
    if param.kind is ParamKind.MEMBER:
        member = adapter.parse_member(text)
        if member is None:
            raise usage_error(
                spec,
                prefix,
                f"I cannot tell which member {quoted(text)} is: mention them or give their"
                " account id.",
            )
        return member
    if param.kind is ParamKind.CHANNEL:
        word = adapter.capabilities.channel_word
        if invocation.community is None:
            raise usage_error(spec, prefix, f"Name a {word} from inside its community.")
        channel = adapter.parse_channel(text, invocation.community)
        if channel is None:
            raise usage_error(
                spec, prefix, f"I cannot find a {word} {quoted(text)} in this community."
            )
        return channel
    if param.kind is ParamKind.INTEGER:
        digits = text.lstrip("#")
        # bounded: a number past what any list holds would overflow the database's integers
        if not (digits.isascii() and digits.isdecimal() and len(digits) <= MAX_DIGITS):
            raise usage_error(
                spec, prefix, f"{param.name} must be a whole number, not {quoted(text)}."
            )
        number = int(digits)
        low, high = param.minimum, param.maximum
        if (low is not None and number < low) or (high is not None and number > high):
            bounds = (
                f"from {low if low is not None else 0} to {high}" if high else f"at least {low}"
            )
            raise usage_error(spec, prefix, f"{param.name} must be {bounds}, not {number}.")
        return number
    if not text:
        raise usage_error(spec, prefix, f"{param.name} must not be empty.")
    return text


def bind_arguments(
    spec: CommandSpec, invocation: CommandInvocation, adapter: ChatAdapter
) -> dict[str, Any]:
    """Map named args and positional words onto the spec's params; raise CommandError if off."""
    prefix = adapter.capabilities.command_prefix
    named = dict(invocation.args)
    unknown = set(named) - {p.name for p in spec.params}
    if unknown:
        names = shortened(", ".join(sorted(unknown)))
        raise usage_error(spec, prefix, f"Unknown option {names}.")
    words = list(invocation.positional)
    values: dict[str, Any] = {}
    for index, param in enumerate(spec.params):
        raw: str | None = named.get(param.name)
        if raw is None and words:
            is_last = index == len(spec.params) - 1
            if param.kind is ParamKind.TEXT and is_last:
                raw, words = " ".join(words), []
            elif _is_optional_choice_mismatch(param, words[0], spec, index) or (
                _is_optional_member_mismatch(param, words[0], spec, index, adapter)
            ):
                raw = None
            elif param.kind is ParamKind.CHANNEL:
                raw, words = _channel_words(words, spec, index)
            else:
                raw = words.pop(0)
        if raw is None:
            if param.required:
                raise usage_error(spec, prefix, f"Missing {param.name}.")
            continue
        values[param.name] = _convert(spec, param, raw, invocation, adapter, prefix)
    if words:
        raise usage_error(spec, prefix, f"Too many words: {quoted(' '.join(words))}.")
    return values


def _is_optional_choice_mismatch(
    param: ParamSpec, word: str, spec: CommandSpec, index: int
) -> bool:
    """An optional leading param that the word cannot be (e.g. `!policy read_only` with an
    optional channel first) is skipped, so text commands read naturally."""
    if param.required or index + 1 >= len(spec.params):
        return False
    following = spec.params[index + 1]
    if following.kind is ParamKind.CHOICE and word.lower() in following.choices:
        return param.kind is not ParamKind.CHOICE or word.lower() not in param.choices
    return False


def _is_optional_member_mismatch(
    param: ParamSpec, word: str, spec: CommandSpec, index: int, adapter: ChatAdapter
) -> bool:
    """An optional member that the word is not (`!report spam this is spam`, as a reply) is
    skipped, so the words go on to the parameters after it."""
    return (
        param.kind is ParamKind.MEMBER
        and not param.required
        and index + 1 < len(spec.params)
        and adapter.parse_member(word) is None
    )


def _channel_words(words: list[str], spec: CommandSpec, index: int) -> tuple[str, list[str]]:
    """A channel or room named in several words (`!policy General chat read_only`): every
    word up to the choice that follows it, so room names need no quotes."""
    following = spec.params[index + 1] if index + 1 < len(spec.params) else None
    if following is not None and following.kind is ParamKind.CHOICE:
        if len(words) > 1 and words[-1].lower() in following.choices:
            return " ".join(words[:-1]), words[-1:]
        if not following.required:
            return " ".join(words), []
    if following is None:
        return " ".join(words), []
    return words[0], words[1:]
