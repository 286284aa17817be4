"""The bot's small web service: the pages a member sees while verifying."""
