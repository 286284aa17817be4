"""A guild and Discord's rules inside it: permission arithmetic, role hierarchy, AutoMod limits,
and the GUILD_CREATE payload with everything in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import form_error, missing_permissions, unknown
from .objects import PUBLIC_THREAD, Channel, Json, Member, Role, iso_now
from .permissions import ALL_PERMISSIONS, Perm

KEYWORD, MENTION_SPAM = 1, 5  # AutoMod trigger types
AUTOMOD_LIMITS = {"keyword_rules": 6, "keywords": 1000, "keyword_chars": 60, "regex": 10}
ONE_PER_GUILD = {3, 4, 5, 6}  # spam, keyword preset, mention spam, member profile


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    automod_rules: dict[int, Json] = field(default_factory=dict)
    verification_level: int = 1

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def member(self, user_id: int) -> Member:
        try:
            return self.members[user_id]
        except KeyError:
            raise unknown("Member", 10007) from None

    def role(self, role_id: int) -> Role:
        try:
            return self.roles[role_id]
        except KeyError:
            raise unknown("Role", 10011) from None

    def role_named(self, name: str) -> Role | None:
        return next((r for r in self.roles.values() if r.name == name), None)

    def channel(self, channel_id: int) -> Channel:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise unknown("Channel", 10003) from None

    def top_position(self, member: Member) -> int:
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def base_permissions(self, member: Member) -> int:
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        perms = self.everyone.permissions
        for role_id in member.roles:
            if role_id in self.roles:
                perms |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & Perm.ADMINISTRATOR else perms

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        """Discord's algorithm: base, then @everyone, role and member overwrites, in that order."""
        perms = self.base_permissions(member)
        if perms & Perm.ADMINISTRATOR or member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        if channel.type == PUBLIC_THREAD and channel.parent_id is not None:
            channel = self.channels[channel.parent_id]
        if (ow := channel.overwrites.get(self.id)) is not None:
            perms = (perms & ~ow.deny) | ow.allow
        allow = deny = 0
        for role_id in member.roles:
            if (ow := channel.overwrites.get(role_id)) is not None and ow.type == 0:
                allow, deny = allow | ow.allow, deny | ow.deny
        perms = (perms & ~deny) | allow
        if (ow := channel.overwrites.get(member.user.id)) is not None and ow.type == 1:
            perms = (perms & ~ow.deny) | ow.allow
        return perms if perms & Perm.VIEW_CHANNEL else 0  # unseen: no permission at all there

    def require(self, actor: Member, perm: Perm, channel: Channel | None = None) -> None:
        have = (
            self.base_permissions(actor)
            if channel is None
            else self.channel_permissions(actor, channel)
        )
        if not have & perm:
            raise missing_permissions()

    def require_above(self, actor: Member, role: Role) -> None:
        """Role hierarchy: only roles strictly below the actor's highest role may be touched."""
        if actor.user.id == self.owner_id:
            return
        if self.top_position(actor) <= role.position:
            raise missing_permissions()

    def payload(self, *, with_members: bool) -> Json:
        members = self.members.values()
        return {
            "id": str(self.id),
            "name": self.name,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "verification_level": self.verification_level,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "large": False,
            "member_count": len(self.members),
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [c.payload() for c in self.channels.values() if c.type != PUBLIC_THREAD],
            "threads": [c.payload() for c in self.channels.values() if c.type == PUBLIC_THREAD],
            "members": [m.payload() for m in members if with_members or m.user.bot],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": iso_now(),
        }

    def check_automod(self, rule: Json, replacing: int | None = None) -> None:
        """Discord's AutoMod limits, answered as Discord answers them (400, code 50035)."""
        trigger = int(rule["trigger_type"])
        same = [
            r
            for r in self.automod_rules.values()
            if r["trigger_type"] == trigger and int(r["id"]) != replacing
        ]
        cap = 1 if trigger in ONE_PER_GUILD else AUTOMOD_LIMITS["keyword_rules"]
        if trigger in ONE_PER_GUILD | {KEYWORD} and len(same) >= cap:
            raise form_error(
                "trigger_type",
                "AUTO_MODERATION_MAX_RULES_OF_TYPE_EXCEEDED",
                "Maximum number of rules of this type exceeded",
            )
        meta = rule.get("trigger_metadata") or {}
        keywords = meta.get("keyword_filter") or []
        if len(keywords) > AUTOMOD_LIMITS["keywords"]:
            raise form_error("trigger_metadata.keyword_filter", "BASE_TYPE_MAX_LENGTH", "Too many")
        if any(len(k) > AUTOMOD_LIMITS["keyword_chars"] for k in keywords):
            raise form_error("trigger_metadata.keyword_filter", "BASE_TYPE_MAX_LENGTH", "Too long")
        if len(meta.get("regex_patterns") or []) > AUTOMOD_LIMITS["regex"]:
            raise form_error("trigger_metadata.regex_patterns", "BASE_TYPE_MAX_LENGTH", "Too many")
