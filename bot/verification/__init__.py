"""Identity checks: signed links, methods (providers/), and the service that grants the badge."""
