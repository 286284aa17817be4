"""Network-neutral features. Nothing here may import discord, nio or sqlalchemy."""
