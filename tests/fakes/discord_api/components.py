"""What members do with what the bot sent them: click a button, choose in a select, submit a form.

Each push builds the INTERACTION_CREATE Discord sends (type 3 for a component, 5 for a modal
submit) and returns its `InteractionRecord`, whose replies the bot answers through its token.
Like Discord's client, a push refuses what a person could not do: click a button the message
does not have, choose an option the select does not offer, leave a required field empty or
type past a field's limit.
"""

from __future__ import annotations

from collections.abc import Iterator

from .interactions import COMPONENT, MODAL_SUBMIT, InteractionRecord, InteractionRoutes
from .objects import Json, User

BUTTON, SELECT, TEXT_INPUT, ACTION_ROW, LABEL = 2, 3, 4, 1, 18  # component types


def components_of(message: Json) -> Iterator[Json]:
    """Every component of a message, inside its action rows."""
    for row in message.get("components") or []:
        yield from row.get("components") or []


def buttons_of(message: Json) -> list[tuple[str, str]]:
    """(label, custom id) of each button of a message, in order."""
    return [(c.get("label", ""), c["custom_id"]) for c in components_of(message) if c["type"] == 2]


def select_of(message: Json) -> Json | None:
    return next((c for c in components_of(message) if c["type"] == SELECT), None)


class ComponentActivity(InteractionRoutes):
    """The test side of the bot's buttons, selects and forms; mixed into `FakeDiscord`."""

    def reply_message(self, reply: Json) -> Json:
        """The message an interaction's reply became (an ephemeral one included)."""
        return self.world.messages[int(reply["message_id"])]

    async def push_click(self, user: User, message: Json, custom_id: str) -> InteractionRecord:
        """`user` clicks the button `custom_id` of `message`, where the message is."""
        found = [c for c in components_of(message) if c["type"] == BUTTON]
        assert any(c.get("custom_id") == custom_id for c in found), (
            f"no button {custom_id!r} on the message (have {[c.get('custom_id') for c in found]})"
        )
        guild, channel = self.world.locate_channel(int(message["channel_id"]))
        assert guild is not None, "buttons in direct messages are not faked"
        data = {"custom_id": custom_id, "component_type": BUTTON}
        return await self.push_interaction(guild, channel, user, COMPONENT, data, message=message)

    async def push_select(self, user: User, message: Json, *values: str) -> InteractionRecord:
        """`user` chooses `values` in the select of `message`."""
        select = select_of(message)
        assert select is not None, "the message has no select"
        offered = [o["value"] for o in select.get("options") or []]
        assert set(values) <= set(offered), f"{values} not among the options {offered}"
        assert select.get("min_values", 1) <= len(values) <= select.get("max_values", 1)
        guild, channel = self.world.locate_channel(int(message["channel_id"]))
        assert guild is not None, "selects in direct messages are not faked"
        data = {"custom_id": select["custom_id"], "component_type": SELECT, "values": list(values)}
        return await self.push_interaction(guild, channel, user, COMPONENT, data, message=message)

    async def push_modal_submit(
        self, opened: InteractionRecord, user: User, **values: str
    ) -> InteractionRecord:
        """`user` fills in the form the bot opened in answer to `opened` (fields by custom id;
        one left out is sent empty) and submits it."""
        modal = opened.modal
        assert modal is not None, "the bot opened no form in answer to this interaction"
        rows = [_filled(component, values) for component in modal.get("components") or []]
        assert not values, f"the form has no fields {sorted(values)}"
        assert opened.guild_id is not None
        guild, channel = self.world.locate_channel(opened.channel_id)
        assert guild is not None
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self.push_interaction(
            guild, channel, user, MODAL_SUBMIT, data, message=opened.message
        )


def _filled(component: Json, values: dict[str, str]) -> Json:
    """A form's top-level component as Discord submits it: a label around its text input, or
    (the older way) an action row of them. Takes the used values out of `values`."""
    if component["type"] == LABEL:
        return {
            "type": LABEL,
            "id": component.get("id", 0),
            "component": _field(component["component"], values),
        }
    assert component["type"] == ACTION_ROW, f"a form cannot hold component {component['type']}"
    return {"type": ACTION_ROW, "components": [_field(c, values) for c in component["components"]]}


def _field(text_input: Json, values: dict[str, str]) -> Json:
    assert text_input["type"] == TEXT_INPUT, f"a form field of type {text_input['type']}"
    custom_id = text_input["custom_id"]
    value = values.pop(custom_id, "")
    if text_input.get("required", True):
        assert value, f"the field {custom_id!r} is required"
    limit = text_input.get("max_length")
    assert limit is None or len(value) <= limit, f"the field {custom_id!r} takes {limit} characters"
    return {
        "type": TEXT_INPUT,
        "id": text_input.get("id", 0),
        "custom_id": custom_id,
        "value": value,
    }
