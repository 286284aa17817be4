"""`python -m bot` is the same as the `verifybot` console script."""

from bot.cli import main

raise SystemExit(main())
