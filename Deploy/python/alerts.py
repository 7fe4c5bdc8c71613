#!/usr/bin/env python3
"""Consume unlearnd's retrain-required events (schema unlearn.retrain.v1) with confluent-kafka.

    python3 alerts.py --bootstrap HOST:PORT                          # follow, print each new alert
    python3 alerts.py --bootstrap HOST:PORT --count 1 --timeout 300  # wait for one alert, at most 5 minutes

Prints each alert once, as one JSON line on stdout (the event as published). The daemon publishes the alert of a
budget epoch again after a restart that may have lost its delivery; copies carry the same alert_id and are
skipped here (noted on stderr). Offsets are committed after an alert is printed, so a restarted consumer in the
same group continues where it left off; pass --seen-file to remember alert ids across restarts too.

Exit status: 0 after --count alerts (or at --timeout when no --count was given), 3 when --timeout passes before
--count alerts arrived, 1 on a Kafka error. Values that are not unlearn.retrain.v1 JSON are reported on stderr
and skipped.

The dev broker (librdkafka's mock cluster) finishes a rebalance only session.timeout.ms - 1 s after a member
leaves, so this script sets session.timeout.ms=6000; override it with -X like any other client property.
Requires: pip install confluent-kafka. The JSON Schema of the value is Config/schemas/retrain-event.schema.json.
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException
from seen_ids import load_seen, remember

SCHEMA = "unlearn.retrain.v1"


def main():
    parser = argparse.ArgumentParser(description="Print unlearnd retrain-required events, once per alert_id.")
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers (host:port[,host:port])")
    parser.add_argument("--topic", default="unlearn.alerts", help="alerts topic (default %(default)s)")
    parser.add_argument("--group", default="unlearn-alerts-py", help="consumer group id (default %(default)s)")
    parser.add_argument("--count", type=int, help="exit 0 after this many distinct alerts")
    parser.add_argument("--timeout", type=float, help="stop after this many seconds")
    parser.add_argument("--seen-file", help="file of alert ids already handled (appended to; survives restarts)")
    parser.add_argument("-X", dest="properties", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Kafka client property (repeatable)")
    args = parser.parse_args()

    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
    }
    for item in args.properties:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-X {item}: expected KEY=VALUE")
        config[key] = value

    seen = load_seen(args.seen_file)
    printed = 0
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    consumer = Consumer(config)
    try:
        consumer.subscribe([args.topic])
        while args.count is None or printed < args.count:
            if deadline is not None and time.monotonic() >= deadline:
                if args.count is None:
                    return 0
                print(f"alerts.py: timed out after {args.timeout} s with {printed} of {args.count} alerts", file=sys.stderr)
                return 3
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                if msg.error().fatal():
                    raise KafkaException(msg.error())
                print(f"alerts.py: {msg.error()}", file=sys.stderr)
                continue
            where = f"{msg.topic()}[{msg.partition()}]@{msg.offset()}"
            try:
                event = json.loads(msg.value())
                alert_id = event["alert_id"] if event.get("schema") == SCHEMA else None
            except (ValueError, TypeError, AttributeError, KeyError):
                alert_id = None
            if alert_id is None:
                print(f"alerts.py: skipped {where}: not an {SCHEMA} event", file=sys.stderr)
            elif alert_id in seen:
                print(f"alerts.py: skipped {where}: duplicate of alert {alert_id}", file=sys.stderr)
            else:
                print(json.dumps(event, sort_keys=True), flush=True)
                seen.add(alert_id)
                remember(args.seen_file, alert_id)
                printed += 1
            consumer.commit(message=msg, asynchronous=False)
        return 0
    except KafkaException as error:
        print(f"alerts.py: {error}", file=sys.stderr)
        return 1
    finally:
        consumer.close()


if __name__ == "__main__":
    sys.exit(main())
