"""Prometheus metrics of the chat app, served at ``/metrics`` (each replica its own; nginx keeps it inside).

Counters and histograms that move with requests live in the process's default registry and cost a dict
lookup and an addition each: requests by method, route *template* and status, their latency by route
template (never the raw path, whose ids would make a series per chat), and rate-limit refusals by scope.
The model's tokens are counted where every completion ends (``chatdash.llm``'s ``Stream``), so the
chat, the APIs and the pipeline's own model calls all count. What is a level rather than a count (replies
being written, requests waiting for the embedded model, whether the process is draining) is read when
Prometheus scrapes, by ``ServiceCollector``, so requests pay nothing for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from chatdash.chat.service import ChatService

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""The text exposition format every Prometheus version scrapes."""

HTTP_REQUESTS = Counter(
    "chatdash_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "chatdash_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte (a streamed reply's whole stream), by "
    "method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
RATE_LIMITED = Counter(
    "chatdash_rate_limit_rejections",
    "Requests refused for a rate limit (429), by scope: api-key, signin-user, signin-ip",
    ["scope"],
)

UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 or a redirect): one series for them all."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; any other method than the usual ones is ``other``."""
    method = method if method in METHODS else "other"
    HTTP_REQUESTS.labels(method, route, str(status)).inc()
    HTTP_LATENCY.labels(method, route).observe(seconds)


class ServiceCollector(Collector):
    """The levels of one app's ``ChatService``, read at scrape time."""

    def __init__(self, service: ChatService) -> None:
        self.service = service

    def collect(self) -> Iterator[GaugeMetricFamily]:
        service = self.service
        yield GaugeMetricFamily(
            "chatdash_replies_in_flight",
            "Replies this process is writing now",
            value=service.generations.running,
        )
        provider = getattr(service.responder, "provider", None)
        queued = provider.stats().queued if provider is not None else 0
        yield GaugeMetricFamily(
            "chatdash_model_queue_depth",
            "Requests waiting for the embedded model's worker (0 for a model behind a server)",
            value=queued,
        )
        yield GaugeMetricFamily(
            "chatdash_draining",
            "1 while the process drains after SIGTERM (new replies refused, /readyz 503), else 0",
            value=1 if service.draining else 0,
        )


def service_registry(service: ChatService) -> CollectorRegistry:
    """A registry of the service's levels, kept apart from the default one: every app (tests build many
    in one process) has its own service, while the counters belong to the process."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(service))
    return registry


def exposition(service_metrics: CollectorRegistry) -> bytes:
    """The ``/metrics`` body: the process's counters, then the service's levels."""
    return generate_latest(REGISTRY) + generate_latest(service_metrics)
