"""The admins' dashboard: a community's figures, warnings and policies on one page.

* access.py — one-time sign-in links and the signed session cookie (no aiohttp: the cog uses it);
* figures.py — what the page shows, gathered from storage and the adapter;
* charts.py — small SVG charts drawn here, each with a text alternative;
* routes.py — the pages and forms (CSRF bound to the session, Origin checked).
"""
