"""A recording chat adapter for quick cog tests (in addition to the end-to-end tests on Synapse
and the loopback Discord): it performs nothing and remembers every call, like maubot's testing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.base import AdapterError, Capabilities, EventSink
from bot.model import (
    Actor,
    ChannelRef,
    Choice,
    CommandInvocation,
    CommandSpec,
    CommunityRef,
    MemberRef,
    MessageRef,
    Network,
    Role,
    UnverifiedPolicy,
)


@dataclass
class RecordingAdapter:
    network: Network = "matrix"
    capabilities: Capabilities = field(default_factory=lambda: Capabilities(command_prefix="!"))
    served: list[CommunityRef] = field(default_factory=list)
    members: dict[MemberRef, set[CommunityRef]] = field(default_factory=dict)
    badges: set[tuple[MemberRef, CommunityRef]] = field(default_factory=set)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    replies: list[tuple[CommandInvocation, str, bool]] = field(default_factory=list)
    directs: list[tuple[MemberRef, str]] = field(default_factory=list)
    files: list[tuple[CommandInvocation, str, str, bytes]] = field(default_factory=list)
    choices: list[tuple[str, tuple[Choice, ...]]] = field(default_factory=list)  # text -> offered
    fail_badges: bool = False
    names: dict[str, str] = field(default_factory=dict)  # community or channel id -> name
    sink: EventSink | None = None

    async def start(self, sink: EventSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.calls.append(("stop", None))

    async def register_commands(self, specs: Sequence[CommandSpec]) -> None:
        self.calls.append(("register_commands", [s.name for s in specs]))

    def parse_member(self, text: str) -> MemberRef | None:
        text = text.strip()
        return MemberRef(self.network, text) if text.startswith("@") and ":" in text else None

    def parse_channel(self, text: str, community: CommunityRef) -> ChannelRef | None:
        text = text.strip()
        return ChannelRef(community, text) if text.startswith("!") else None

    def display(self, member: MemberRef) -> str:
        return member.id

    def name_of(self, place: CommunityRef | ChannelRef) -> str:
        return self.names.get(place.id, place.id)

    async def respond(
        self, invocation: CommandInvocation, text: str, *, private: bool = True
    ) -> None:
        self.replies.append((invocation, text, private))

    async def send_direct(self, member: MemberRef, text: str) -> None:
        self.directs.append((member, text))

    async def respond_file(
        self, invocation: CommandInvocation, text: str, filename: str, data: bytes
    ) -> None:
        self.files.append((invocation, text, filename, data))

    async def post(self, channel: ChannelRef, text: str, *, choices: Sequence[Choice] = ()) -> None:
        self.calls.append(("post", (channel, text)))
        if choices:
            self.choices.append((text, tuple(choices)))

    async def notify_admins(
        self, community: CommunityRef, text: str, *, choices: Sequence[Choice] = ()
    ) -> None:
        self.calls.append(("notify_admins", (community, text)))
        if choices:
            self.choices.append((text, tuple(choices)))

    def own_account(self) -> MemberRef | None:
        return MemberRef(self.network, "@verifybot:example.org")

    def message_link(self, message: MessageRef) -> str:
        return f"https://chat.example/{message.channel.id}/{message.id}"

    async def remove_message(self, message: MessageRef, reason: str) -> None:
        self.calls.append(("remove_message", (message, reason)))

    async def remove_reaction(
        self,
        message: MessageRef,
        reactor: MemberRef,
        emoji: str,
        reaction_id: str | None,
        reason: str,
    ) -> None:
        self.calls.append(("remove_reaction", (message, reactor, emoji)))

    async def set_badge(self, member: MemberRef, community: CommunityRef, on: bool) -> None:
        if self.fail_badges:
            raise AdapterError("the bot's role is below the badge role")
        if on:
            self.badges.add((member, community))
        else:
            self.badges.discard((member, community))
        self.calls.append(("set_badge", (member, community, on)))

    async def apply_policy(
        self,
        scope: CommunityRef | ChannelRef,
        policy: UnverifiedPolicy,
        keep: frozenset[str] = frozenset(),
    ) -> None:
        self.calls.append(("apply_policy", (scope, policy)))

    def communities(self) -> Sequence[CommunityRef]:
        return list(self.served)

    async def member_communities(self, member: MemberRef) -> Sequence[CommunityRef]:
        return sorted(self.members.get(member, set()), key=lambda c: c.id)

    async def badge_holders(self, community: CommunityRef) -> AsyncIterator[MemberRef]:
        for member, where in sorted(self.badges, key=lambda b: b[0].id):
            if where == community:
                yield member

    # --- helpers for tests ------------------------------------------------------------------

    def invoke(
        self,
        name: str,
        *words: str,
        member: MemberRef,
        community: CommunityRef | None,
        role: Role = Role.MEMBER,
        event_id: str | None = None,
        about: MessageRef | None = None,
        about_author: MemberRef | None = None,
        about_text: str | None = None,
    ) -> CommandInvocation:
        channel = ChannelRef(community, "!general") if community else None
        return CommandInvocation(
            name=name,
            community=community,
            channel=channel,
            invoker=Actor(member, role),
            positional=words,
            event_id=event_id,
            about=about,
            about_author=about_author,
            about_text=about_text,
        )

    def last_reply(self) -> str:
        return self.replies[-1][1]

    def removed(self) -> list[MessageRef]:
        return [args[0] for name, args in self.calls if name == "remove_message"]
