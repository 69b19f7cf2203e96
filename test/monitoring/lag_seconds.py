#!/usr/bin/python3
"""The Kafka lag exporter against records produced at known times.

  lag_seconds.py MOCKKAFKA EXPORTER WORKDIR [INTERVAL]

Starts MOCKKAFKA (bridge/voltpay-mockkafka) with one topic of three
partitions and EXPORTER (monitoring/kafka-lag-exporter/...) polling it every
INTERVAL seconds (default 0.25), then:

  partition 2  two records before the exporter starts (its history cannot
               know their time: the figure must be a lower bound)
  partition 0  eight records, 0.7 s apart, each time noted (midway
               between the produce call and its delivery report); the
               group commits offset 3
  partition 1  five records, never committed

and checks, on scrapes after the commit:

  - kafka_exporter's semantics for the shared names: committed offset and
    lag -1 where the group committed nothing, lag_sum leaving those out,
    current_offset_sum counting them, the watermarks;
  - kafka_consumergroup_lag_seconds of partition 0 equals the time since
    record 3 was produced (at the exporter's last poll) within TOLERANCE =
    INTERVAL + 0.25 s, twice, 2 s apart (it grows while the group is stuck);
    of partition 1 the time since its first record (nothing committed:
    from the low watermark); of partition 2 between the time since the
    exporter's start and the true figure; max_lag_seconds the largest;
  - after committing offset 8 on partition 0: lag 0 and 0 seconds.

Prints "lag_seconds: max error X s over N checks (tolerance T s)" and one
line per failed check; exits 1 on any failure.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promtext  # noqa: E402

TOPIC = "lagtest"
GROUP = "lagtest-group"
failures = []
errors = []


def check(name, ok, detail=""):
    if not ok:
        failures.append("%s%s" % (name, (": " + detail) if detail else ""))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def produce(producer, partition, n, spacing):
    """n records on one partition, spacing seconds apart; their append times."""
    times = []
    for i in range(n):
        if i:
            time.sleep(spacing)
        done = {}
        before = time.time()
        producer.produce(TOPIC, value=b"x%d" % i, partition=partition,
                         on_delivery=lambda err, msg: done.update(err=err, t=time.time()))
        producer.flush(10)
        check("delivery of record %d on partition %d" % (i, partition), "t" in done and done["err"] is None,
              str(done.get("err")))
        times.append((before + done.get("t", before)) / 2)
    return times


class Scraper:
    def __init__(self, url, workdir):
        self.url, self.path, self.n = url, os.path.join(workdir, "lag-scrape.txt"), 0

    def scrape(self):
        body = urllib.request.urlopen(self.url, timeout=5).read()
        self.n += 1
        with open(self.path, "wb") as f:
            f.write(body)
        return {(n, tuple(sorted(l.items()))): v for n, l, v in promtext.samples(self.path)}


def get(m, name, **labels):
    return m.get((name, tuple(sorted(labels.items()))))


def wait_polls(scraper, n):
    """Until the exporter has finished n more polls; the scrape after them."""
    start = get(scraper.scrape(), "kafka_lag_exporter_polls_total") or 0
    deadline = time.time() + 30
    while time.time() < deadline:
        m = scraper.scrape()
        if (get(m, "kafka_lag_exporter_polls_total") or 0) >= start + n:
            return m
        time.sleep(0.05)
    raise SystemExit("lag_seconds: the exporter did not poll")


def main():
    mockkafka, exporter, workdir = sys.argv[1:4]
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.25
    tol = interval + 0.25
    procs = []
    try:
        mock = subprocess.Popen([mockkafka, "--brokers", "1", "--replication", "1", "--partitions", "3",
                                 "--topics", TOPIC], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=open(os.path.join(workdir, "lag-mock.log"), "w"), text=True)
        procs.append(mock)
        line = mock.stdout.readline()
        brokers = re.match(r"bootstrap.servers=(\S+)", line or "")
        if not brokers:
            raise SystemExit("lag_seconds: mock Kafka did not start: %r" % line)
        brokers = brokers.group(1)
        producer = Producer({"bootstrap.servers": brokers, "linger.ms": 0, "log_level": 3})
        times2 = produce(producer, 2, 2, 0.1)
        time.sleep(1.0)

        port = free_port()
        started = time.time()
        procs.append(subprocess.Popen([sys.executable, exporter, "-b", brokers, "-g", GROUP, "-t", TOPIC,
                                       "--listen", "127.0.0.1:%d" % port, "--interval", str(interval),
                                       "--timeout", "3"],
                                      stderr=open(os.path.join(workdir, "lag-exporter.log"), "w")))
        scraper = Scraper("http://127.0.0.1:%d/metrics" % port, workdir)
        deadline = time.time() + 30
        while True:
            try:
                m = scraper.scrape()
                if get(m, "kafka_topic_partitions", topic=TOPIC) == 3:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise SystemExit("lag_seconds: the exporter serves no kafka_topic_partitions")
            time.sleep(0.1)
        check("no consumer-group series before the group commits (as kafka_exporter)",
              get(m, "kafka_consumergroup_lag", consumergroup=GROUP, topic=TOPIC, partition="2") is None)

        times0 = produce(producer, 0, 8, 0.7)
        times1 = produce(producer, 1, 5, 0.3)
        consumer = Consumer({"bootstrap.servers": brokers, "group.id": GROUP, "enable.auto.commit": False,
                             "log_level": 3})
        consumer.commit(offsets=[TopicPartition(TOPIC, 0, 3)], asynchronous=False)

        for round_ in (1, 2):
            m = wait_polls(scraper, 2)
            polled = get(m, "kafka_lag_exporter_last_poll_timestamp_seconds")
            g = dict(consumergroup=GROUP, topic=TOPIC)
            for p, want in (("0", 8), ("1", 5), ("2", 2)):
                check("high watermark of %s" % p, get(m, "kafka_topic_partition_current_offset", topic=TOPIC, partition=p) == want)
                check("low watermark of %s" % p, get(m, "kafka_topic_partition_oldest_offset", topic=TOPIC, partition=p) == 0)
            for p, off, lag in (("0", 3, 5), ("1", -1, -1), ("2", -1, -1)):
                got = (get(m, "kafka_consumergroup_current_offset", partition=p, **g),
                       get(m, "kafka_consumergroup_lag", partition=p, **g))
                check("committed offset and lag of partition %s" % p, got == (off, lag), "%r, want %r" % (got, (off, lag)))
            check("lag_sum leaves uncommitted partitions out", get(m, "kafka_consumergroup_lag_sum", **g) == 5)
            check("current_offset_sum counts their -1", get(m, "kafka_consumergroup_current_offset_sum", **g) == 1)

            s0 = get(m, "kafka_consumergroup_lag_seconds", partition="0", **g)
            s1 = get(m, "kafka_consumergroup_lag_seconds", partition="1", **g)
            s2 = get(m, "kafka_consumergroup_lag_seconds", partition="2", **g)
            for name, got, want in (("partition 0 (committed 3)", s0, polled - times0[3]),
                                    ("partition 1 (nothing committed)", s1, polled - times1[0])):
                if got is None:
                    check("lag seconds of " + name, False, "absent")
                    continue
                errors.append(got - want)
                print("lag_seconds: round %d %s: reported %.3f s, produced %.3f s before the poll, error %+.3f s"
                      % (round_, name, got, want, got - want))
                check("lag seconds of %s within %.2f s" % (name, tol), abs(got - want) <= tol,
                      "reported %.3f, true %.3f" % (got, want))
            true2 = polled - times2[0]
            check("lag seconds of partition 2 is a lower bound (records older than the exporter)",
                  s2 is not None and polled - started - tol <= s2 <= true2 + tol,
                  "reported %r, exporter up %.3f s, true %.3f s" % (s2, polled - started, true2))
            check("max_lag_seconds is the largest",
                  get(m, "kafka_consumergroup_max_lag_seconds", consumergroup=GROUP) == max(s0 or 0, s1 or 0, s2 or 0))
            if round_ == 1:
                time.sleep(2)

        consumer.commit(offsets=[TopicPartition(TOPIC, 0, 8)], asynchronous=False)
        m = wait_polls(scraper, 2)
        g = dict(consumergroup=GROUP, topic=TOPIC, partition="0")
        check("caught up: lag 0", get(m, "kafka_consumergroup_lag", **g) == 0)
        check("caught up: 0 seconds", get(m, "kafka_consumergroup_lag_seconds", **g) == 0)
        consumer.close()
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    worst = max((abs(e) for e in errors), default=float("nan"))
    print("lag_seconds: max error %.3f s over %d checks (tolerance %.2f s, poll interval %.2f s), %d failures"
          % (worst, len(errors), tol, interval, len(failures)))
    for f in failures:
        print("lag_seconds: FAIL " + f)
    return 1 if failures or not errors else 0


if __name__ == "__main__":
    sys.exit(main())
