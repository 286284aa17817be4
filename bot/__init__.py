"""verifybot: optional verification, a visible badge and each member's own filter."""

__version__ = "0.1.0"
