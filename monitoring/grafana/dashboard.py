#!/usr/bin/env python3
"""The voltpay Grafana dashboard, as code: prints monitoring/grafana/voltpay.json.

    ~/.cache/voltpay/grafana-sdk/bin/python monitoring/grafana/dashboard.py > monitoring/grafana/voltpay.json

Written with Grafana's foundation SDK (PyPI grafana-foundation-sdk, pinned
with its hash in monitoring/grafana/requirements.txt; `make deps` installs
it into that virtualenv).  Edit this program, never the JSON: regenerate
the JSON with the command above and commit both.  The monitoring test suite
checks that this program reproduces the committed JSON byte for byte, that
every query parses and names a metric some source exports or alerts.yml
records, and runs every query in a real Prometheus (docs/monitoring.md).

Panels are laid out left to right, each line of a row filling the 24
columns of Grafana's grid; the SDK places them.
"""

import json
import os
import re
import sys

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models import prometheus as pm

DS = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
ALERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "alerts.yml")


def threshold(name):
    """voltpay:threshold:NAME from alerts.yml, for the colours of a stat
    panel (graphs draw the recording rule itself)."""
    m = re.search(r"record: voltpay:threshold:%s\n\s*expr: vector\(([0-9.e+]+)\)" % re.escape(name),
                  open(ALERTS).read())
    if not m:
        raise SystemExit("dashboard.py: no voltpay:threshold:%s in %s" % (name, ALERTS))
    return float(m.group(1)) if "." in m.group(1) or "e" in m.group(1) else int(m.group(1))


class Ids:
    """Panel ids in the order the panels appear, from 1."""

    def __init__(self):
        self.n = 0

    def __call__(self):
        self.n += 1
        return self.n


ID = Ids()


def q(expr, legend, ref):
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).datasource(DS)


def targets(panel, queries):
    for ref, (expr, legend) in zip("ABCDEFGH", queries):
        panel.with_target(q(expr, legend, ref))
    return panel


def row(title):
    return db.Row(title).id(ID())


def graph(title, desc, unit, queries, w=8, h=8):
    """A time series panel: lines, a list legend below, a shared tooltip."""
    p = (timeseries.Panel().id(ID()).title(title).description(desc).datasource(DS)
         .unit(unit).span(w).height(h)
         .draw_style(cm.GraphDrawStyle.LINE).line_width(1).fill_opacity(10)
         .show_points(cm.VisibilityMode.NEVER)
         .legend(cb.VizLegendOptions().display_mode(cm.LegendDisplayMode.LIST)
                 .placement(cm.LegendPlacement.BOTTOM).show_legend(True))
         .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING)))
    return targets(p, queries)


def single(title, desc, unit, queries, w, steps=None):
    """A stat panel showing the last value; coloured by STEPS
    [(color, from value), ...] when given."""
    p = (stat.Panel().id(ID()).title(title).description(desc).datasource(DS)
         .unit(unit).span(w).height(8)
         .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False))
         .color_mode(cm.BigValueColorMode.VALUE).graph_mode(cm.BigValueGraphMode.AREA)
         .text_mode(cm.BigValueTextMode.AUTO))
    if steps:
        p.thresholds(db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE)
                     .steps([dm.Threshold(color=c, value=v) for c, v in steps]))
        p.color_scheme(db.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
    return targets(p, queries)


def grid(title, desc, unit, expr, w, h=8):
    """A table of one instant query."""
    return (table.Panel().id(ID()).title(title).description(desc).datasource(DS)
            .unit(unit).span(w).height(h).show_header(True)
            .with_target(q(expr, "", "A").instant().format(pm.PromQueryFormat.TABLE)))


def build():
    d = (db.Dashboard("voltpay").uid("voltpay")
         .description("voltpay: golden signals, consumer lag by partition and in time, outbox, duplicates "
                      "and rejects, slow statements, the idempotency sweeper, memory. Metrics: docs/monitoring.md.")
         .tags(["voltpay"]).editable().tooltip(dm.DashboardCursorSync.CROSSHAIR)
         .refresh("30s").time("now-1h", "now").timezone("").version(1)
         .with_variable(db.DatasourceVariable("datasource").label("Prometheus").type("prometheus")))

    failed = ("sum(rate(voltpay_bridge_messages_rejected_total[%s])) + "
              "sum(rate(voltpay_bridge_messages_quarantined_total[%s]))" % (RATE, RATE))

    d.with_row(row("Golden signals"))
    d.with_panel(graph(
        "Throughput (messages/s)",
        "Messages consumed from the input topic and their outcome, all bridges together; the input rate is "
        "the brokers' high-watermark growth.", "ops", [
            ("sum(rate(voltpay_bridge_messages_consumed_total[%s]))" % RATE, "consumed"),
            ("sum(rate(voltpay_bridge_messages_applied_total[%s]))" % RATE, "applied"),
            ("sum(rate(voltpay_bridge_messages_duplicate_total[%s]))" % RATE, "duplicate"),
            (failed, "rejected + quarantined"),
            ('sum(rate(kafka_topic_partition_current_offset{topic="payment_writer_topic"}[%s]))' % RATE,
             "arriving (input topic)"),
            ("voltpay:threshold:min_throughput_messages_per_second", "low-throughput threshold")]))
    d.with_panel(graph(
        "Error rate",
        "Share of consumed messages rejected or quarantined (alert VoltpayHighErrorRate).", "percentunit", [
            ("(%s) / sum(rate(voltpay_bridge_messages_consumed_total[%s]))" % (failed, RATE), "failed share"),
            ("voltpay:threshold:failed_message_ratio", "threshold")]))
    d.with_panel(graph(
        "Bridge errors and retries (/s)",
        "voltpay_bridge_errors_total by kind (alert VoltpayBridgeErrors) and retries by kind; the JSON logs "
        "say what happened.", "ops", [
            ("sum by (kind) (rate(voltpay_bridge_errors_total[%s]))" % RATE, "error {{kind}}"),
            ("sum by (kind) (rate(voltpay_bridge_retries_total[%s]))" % RATE, "retry {{kind}}")]))
    d.with_panel(graph(
        "End-to-end latency",
        "From an input record's Kafka timestamp to the delivery report of its event (alert "
        "VoltpayLatencySpike on p99).", "s", [
            ("histogram_quantile(0.5, sum by (le) (rate(voltpay_bridge_end_to_end_latency_seconds_bucket[%s])))"
             % RATE, "p50"),
            ("histogram_quantile(0.99, sum by (le) (rate(voltpay_bridge_end_to_end_latency_seconds_bucket[%s])))"
             % RATE, "p99"),
            ("voltpay:threshold:e2e_latency_p99_seconds", "p99 threshold")]))
    d.with_panel(graph(
        "Batch apply time",
        "Apply and commit of one batch in PostgreSQL, retries included (alert VoltpayApplyLatencyHigh on p99).",
        "s", [
            ("histogram_quantile(0.5, sum by (le) (rate(voltpay_bridge_apply_duration_seconds_bucket[%s])))"
             % RATE, "p50"),
            ("histogram_quantile(0.99, sum by (le) (rate(voltpay_bridge_apply_duration_seconds_bucket[%s])))"
             % RATE, "p99"),
            ("voltpay:threshold:apply_latency_p99_seconds", "p99 threshold")]))
    d.with_panel(graph(
        "Saturation",
        "Mean batch size (a full batch is --batch-size: the bridge is saturated) and the bridges' outbox "
        "backlog.", "short", [
            ("sum(rate(voltpay_bridge_batch_size_sum[%s])) / sum(rate(voltpay_bridge_batch_size_count[%s]))"
             % (RATE, RATE), "mean batch size"),
            ("sum(voltpay_bridge_outbox_backlog)", "outbox backlog (bridge)")]))
    d.with_panel(graph(
        "Apply connections",
        "With --db-connections above 1: the share of the time each apply connection is busy on its slice "
        "of a round, and waits for the others (docs/bridge.md, Parallel apply). Busy near 1 everywhere: "
        "the connections are the limit; much waiting: the slowest slice is.", "percentunit", [
            ("sum by (instance, connection) (rate(voltpay_bridge_apply_connection_seconds_total{state=\"busy\"}[%s]))"
             % RATE, "{{instance}} connection {{connection}} busy"),
            ("sum by (instance, connection) (rate(voltpay_bridge_apply_connection_seconds_total{state=\"waiting\"}[%s]))"
             % RATE, "{{instance}} connection {{connection}} waiting")]))

    d.with_row(row("Kafka consumer lag"))
    d.with_panel(single(
        "Consumer lag",
        "Messages behind on the input topic: the larger of the bridges' and the brokers' figures, summed.",
        "short", [("sum(voltpay:consumer_lag:sum)", "lag")], w=4))
    d.with_panel(single(
        "Oldest unconsumed message",
        "How long the oldest message group voltpay-writer has not consumed has waited, worst partition "
        "(kafka_consumergroup_lag_seconds; alert VoltpayConsumerLagHigh at the threshold, red).", "s",
        [("max(voltpay:consumer_lag_seconds:max)", "lag")], w=4,
        steps=[("green", None), ("red", threshold("consumer_lag_seconds"))]))
    d.with_panel(graph(
        "Consumer lag by partition",
        "Per input partition; voltpay:consumer_lag:by_partition takes the larger of "
        "voltpay_bridge_consumer_lag and kafka_consumergroup_lag.", "short",
        [("voltpay:consumer_lag:by_partition", "{{partition}}")]))
    d.with_panel(graph(
        "Lag: bridges vs brokers",
        "The bridges' own figure (partitions they own, while they run) and the brokers' (committed offsets "
        "of group voltpay-writer, also when no bridge runs; partitions never committed, -1, left out).",
        "short", [
            ("sum(voltpay_bridge_consumer_lag)", "bridges"),
            ('sum by (consumergroup) (kafka_consumergroup_lag{consumergroup="voltpay-writer"} >= 0)',
             "brokers ({{consumergroup}})")]))
    d.with_panel(graph(
        "Lag in seconds by partition",
        "Per input partition: seconds since the first message the group has not consumed was appended, "
        "estimated by the Kafka lag exporter from its high-watermark history (docs/monitoring.md).", "s",
        [('kafka_consumergroup_lag_seconds{consumergroup="voltpay-writer"}', "{{partition}}")], w=12))
    d.with_panel(graph(
        "Lag in seconds, worst partition",
        "The worst partition of each topic against the threshold of VoltpayConsumerLagHigh.", "s", [
            ("voltpay:consumer_lag_seconds:max", "{{topic}}"),
            ('kafka_consumergroup_max_lag_seconds{consumergroup="voltpay-writer"}', "group {{consumergroup}}"),
            ("voltpay:threshold:consumer_lag_seconds", "threshold")], w=12))

    d.with_row(row("Database"))
    d.with_panel(graph(
        "Outbox backlog",
        "Events waiting to be published, by kind, from the database (voltpay.metrics_outbox).", "short",
        [("sum by (kind) (voltpay_db_outbox_pending)", "{{kind}}")]))
    d.with_panel(graph(
        "Oldest outbox event",
        "Age of the oldest unpublished event by kind (alert VoltpayOutboxStuck).", "s", [
            ("max by (kind) (voltpay_db_outbox_oldest_age_seconds)", "{{kind}}"),
            ("voltpay:threshold:outbox_oldest_age_seconds", "threshold")]))
    d.with_panel(graph(
        "Duplicates and rejects (/s)",
        "From the database's per-partition counters (voltpay.metrics_partitions): duplicates are re-sent "
        "messages not applied again; rejects are quarantined.", "ops", [
            ("sum(rate(voltpay_db_partition_applied_total[%s]))" % RATE, "applied"),
            ("sum(rate(voltpay_db_partition_duplicate_total[%s]))" % RATE, "duplicate"),
            ("sum(rate(voltpay_db_partition_rejected_total[%s]))" % RATE, "rejected")]))
    d.with_panel(graph(
        "Quarantined messages by reason",
        "Rows of voltpay.rejected_messages by reason code, and those not reprocessed yet.", "short", [
            ("sum by (reason) (voltpay_db_rejected_messages)", "{{reason}}"),
            ("sum(voltpay_db_rejected_unreprocessed_messages)", "not reprocessed")]))
    d.with_panel(graph(
        "Partitions not applied for longest",
        "Seconds since the last batch touched a partition (voltpay.metrics_partitions); a partition that "
        "receives messages but stays old is stuck.", "s",
        [("topk(10, voltpay_db_partition_last_apply_age_seconds)", "{{topic}}/{{partition}}")]))
    d.with_panel(graph(
        "Longest running statement",
        "pg_stat_activity: the longest active statement per database and user (alert "
        "VoltpayLongRunningQuery).", "s", [
            ("max by (datname, usename) (pg_active_queries_max_duration_seconds)", "{{datname}} {{usename}}"),
            ("voltpay:threshold:long_running_query_seconds", "threshold")]))
    d.with_panel(grid(
        "Slowest statements (pg_stat_statements)",
        "Mean execution time over the dashboard's rate interval of the statements the exporter reports "
        "(alert VoltpaySlowQueries).", "s",
        "topk(10, max by (datname, user, queryid, query) (rate(pg_stat_statements_seconds_total[%s]) / "
        "rate(pg_stat_statements_calls_total[%s])))" % (RATE, RATE), w=16))
    d.with_panel(graph(
        "Statement time by user (s/s)",
        "Database time spent per second by each role, from pg_stat_statements.", "s",
        [("sum by (user) (rate(pg_stat_statements_seconds_total[%s]))" % RATE, "{{user}}")]))

    d.with_row(row("Idempotency sweeper"))
    d.with_panel(single(
        "Sweeper running",
        "1 when the voltpay sweeper worker runs in the writer database (alert VoltpaySweeperNotRunning).",
        "short", [("max(voltpay_db_sweeper_running)", "running")], w=4, steps=[("red", None), ("green", 1)]))
    d.with_panel(single(
        "Since last successful sweep", "Time since the last sweep that ended without error.", "s",
        [("time() - max(voltpay_db_sweeper_last_success_timestamp_seconds)", "age")], w=5))
    d.with_panel(single(
        "Last sweep failed", "1 when the last sweep ended with an error (alert VoltpaySweeperFailing).",
        "short", [("max(voltpay_db_sweeper_last_run_failed)", "failed")], w=4, steps=[("green", None), ("red", 1)]))
    d.with_panel(graph(
        "Idempotency rows", "Rows in voltpay.idempotency (estimate) and rows deleted by the last sweep.",
        "short", [
            ("sum(voltpay_db_idempotency_rows_estimate)", "rows (estimate)"),
            ("sum(voltpay_db_sweeper_last_run_rows_deleted)", "deleted by last sweep")], w=5))
    d.with_panel(graph(
        "Oldest idempotency day vs retention",
        "Age of the oldest processed_on day against voltpay.idempotency_retention.", "s", [
            ("max(voltpay_db_idempotency_oldest_age_seconds)", "oldest"),
            ("max(voltpay_db_sweeper_retention_seconds)", "retention")], w=6))

    d.with_row(row("Health"))
    d.with_panel(single(
        "Targets up", "Scrape status of every voltpay source (1 up, 0 down).", "short",
        [('up{job=~"voltpay-.*|node"}', "{{job}} {{instance}}")], w=6, steps=[("red", None), ("green", 1)]))
    d.with_panel(single(
        "Bridges ready", "Database connected and consumer group joined, per bridge; assigned partitions.",
        "short", [
            ("voltpay_bridge_database_connected", "db {{instance}}"),
            ("voltpay_bridge_group_joined", "group {{instance}}"),
            ("voltpay_bridge_assigned_partitions", "partitions {{instance}}")], w=6))
    d.with_panel(graph(
        "Bridge memory",
        "Resident memory of each bridge (process_resident_memory_bytes; alert VoltpayBridgeMemoryHigh).",
        "bytes", [
            ('process_resident_memory_bytes{job="voltpay-bridge"}', "{{instance}}"),
            ("voltpay:threshold:bridge_max_resident_bytes", "threshold")], w=6))
    d.with_panel(graph(
        "Memory",
        "Available share of each node's memory (alert VoltpayMemoryPressure) and OOM kills "
        "(VoltpayOutOfMemory).", "percentunit", [
            ("node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", "available {{instance}}"),
            ("increase(node_vmstat_oom_kill[10m])", "OOM kills/10m {{instance}}"),
            ("voltpay:threshold:min_memory_available_ratio", "threshold")], w=6))
    d.with_panel(graph(
        "Span export",
        "Spans of sampled payments each bridge exported to the tracing backend (--zipkin-url) and "
        "dropped because its export queue was full or a post failed: a slow or down backend, never "
        "a slower apply (docs/monitoring.md section 7).", "ops", [
            ('rate(voltpay_bridge_spans_exported_total{job="voltpay-bridge"}[5m])', "exported {{instance}}"),
            ('rate(voltpay_bridge_spans_dropped_total{job="voltpay-bridge"}[5m])', "dropped {{instance}}")],
        w=24, h=6))
    d.with_panel(grid("Active alerts", "Voltpay alerts pending or firing.", "short",
                      'ALERTS{alertname=~"Voltpay.*"}', w=24, h=6))
    return d.build()


def main():
    sys.stdout.write(json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
