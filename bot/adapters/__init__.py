"""One adapter per chat network; the only place that knows discord.py or matrix-nio."""
