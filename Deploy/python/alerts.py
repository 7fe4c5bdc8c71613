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
import json
import sys

import consumer
from seen_ids import load_seen, remember

SCHEMA = "unlearn.retrain.v1"


class Alerts:
    """What happens to each value: decoding, de-duplication by alert_id, and --count."""

    def __init__(self, args):
        self.args = args
        self.seen = load_seen(args.seen_file)
        self.printed = 0

    def note(self, message):
        print(f"alerts.py: {message}", file=sys.stderr, flush=True)

    def handle(self, where, value):
        """Returns 0 once --count alerts are printed, else None."""
        try:
            event = json.loads(value)
            alert_id = event["alert_id"] if event.get("schema") == SCHEMA else None
        except (ValueError, TypeError, AttributeError, KeyError):
            alert_id = None
        if alert_id is None:
            self.note(f"skipped {where}: not an {SCHEMA} event")
        elif alert_id in self.seen:
            self.note(f"skipped {where}: duplicate of alert {alert_id}")
        else:
            print(json.dumps(event, sort_keys=True), flush=True)
            self.seen.add(alert_id)
            remember(self.args.seen_file, alert_id)
            self.printed += 1
        if self.args.count is not None and self.printed >= self.args.count:
            return 0
        return None

    def at_timeout(self):
        if self.args.count is None or self.printed >= self.args.count:
            return 0
        self.note(f"timed out after {self.args.timeout} s with {self.printed} of {self.args.count} alerts")
        return 3


def main():
    parser = consumer.argument_parser(
        "Print unlearnd retrain-required events, once per alert_id.",
        events="alerts", ids="alert ids", topic="unlearn.alerts", group="unlearn-alerts-py",
    )
    args = parser.parse_args()
    config = consumer.client_config(args, parser)
    alerts = Alerts(args)
    # A --count of 0 is reached before any alert arrives: the loop's first look at the deadline ends it.
    timeout = 0 if args.count is not None and args.count <= 0 else args.timeout
    return consumer.run(config, args.topic, timeout, alerts, kafka_error=1)


if __name__ == "__main__":
    sys.exit(main())
