"""The operator's routes: /healthz for a load balancer or supervisor, /metrics for Prometheus.

Apart from the verification pages: they carry no person's data and no form, and an operator may
expose them to a monitoring network while the pages face the public.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.adapters.base import StatsSource
from bot.web.keys import CORE_KEY


async def healthz(request: web.Request) -> web.Response:
    """200 while the database answers, 503 when it does not."""
    ok = await request.app[CORE_KEY].store.ping()
    return web.Response(text="ok" if ok else "database unavailable", status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    """Counters in the Prometheus text format: the core's, the cache's and each adapter's."""
    core = request.app[CORE_KEY]
    lines: list[str] = []

    def emit(name: str, value: float, **labels: str) -> None:
        metric = "verifybot_" + re.sub(r"[^a-zA-Z0-9_]", "_", name)
        label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines.append(f"{metric}{{{label_text}}} {value:g}" if labels else f"{metric} {value:g}")

    for name, count in sorted(core.metrics.counters.items()):
        emit(name, count)
    samples = sorted(core.metrics.decision_seconds)
    if samples:
        emit("decision_seconds_median", samples[len(samples) // 2])
        emit("decision_seconds_p99", samples[min(len(samples) - 1, int(len(samples) * 0.99))])
    for name, size in core.cache.stats().items():
        emit(f"cache_{name}", size)
    for network, adapter in sorted(core.adapters.items()):
        if isinstance(adapter, StatsSource):
            for name, figure in sorted(adapter.stats().items()):
                emit(f"adapter_{name}", figure, network=network)
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
