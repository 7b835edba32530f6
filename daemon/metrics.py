"""Prometheus exporter: the figures of `boo-daemon status`, read from the daemon at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class DaemonCollector:
    def __init__(self, daemon):
        self.daemon = daemon

    def collect(self):
        s = self.daemon.snapshot()
        labels = ["target", "device"]
        lv = [s["target"], s["device"]]

        def gauge(name, doc, value):
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(lv, value)
            return g

        def counter(name, doc, value):
            c = CounterMetricFamily(name, doc, labels=labels)
            c.add_metric(lv, value)
            return c

        yield gauge("boo_uptime_seconds", "Seconds since the daemon started", s["uptime_s"])
        yield gauge("boo_inflight_requests", "Requests being served", s["inflight"])
        yield gauge("boo_queued_requests", "Requests waiting behind their client's earlier ones", s["queued"])
        yield gauge("boo_compiles_in_flight", "Compile jobs running", s["compiles_in_flight"])
        yield gauge("boo_loaded_kernels", "Kernels loaded in memory", s["loaded_kernels"])
        yield gauge("boo_resident_memory_bytes", "Daemon RSS", s["rss_bytes"])
        yield counter("boo_requests", "Requests received", s["requests"])
        yield counter("boo_request_errors", "Requests answered with an error", s["errors"])
        yield counter("boo_bad_messages", "Malformed messages rejected", s["bad_messages"])
        yield counter("boo_cache_hits", "Signatures served without compiling (memory or disk cache)", s["cache_hits"])
        yield counter("boo_cache_misses", "Compile jobs started", s["cache_misses"])
        yield counter("boo_compiles", "Compiles that ran iree-compile", s["compiles"])
        yield counter("boo_compile_seconds", "Total seconds spent compiling", s["compile_seconds"])
        yield counter("boo_compile_failures", "Failed compiles", s["compile_failures"])
        yield counter("boo_single_flight_joins", "Requests that joined an in-flight compile", s["single_flight_joins"])
        calls = CounterMetricFamily("boo_calls", "Kernel calls per signature", labels=labels + ["signature"])
        secs = CounterMetricFamily("boo_call_seconds", "Kernel time per signature", labels=labels + ["signature"])
        for name, c in s["calls"].items():
            calls.add_metric(lv + [name], c["calls"])
            secs.add_metric(lv + [name], c["total_s"])
        yield calls
        yield secs


class _Server:
    def __init__(self, server, thread):
        self.server, self.thread = server, thread

    def shutdown(self):
        self.server.shutdown()
        self.server.server_close()


def start_metrics(daemon, port: int, addr: str = "127.0.0.1") -> _Server:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon))
    server, thread = start_http_server(port, addr=addr, registry=registry)
    return _Server(server, thread)
