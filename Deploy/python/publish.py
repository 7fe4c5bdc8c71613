#!/usr/bin/env python3
"""Publish unlearnd deletion requests (schema unlearn.deletion.v1) with confluent-kafka.

    python3 publish.py --bootstrap HOST:PORT --model digits --subject dg-s0007
    python3 publish.py --bootstrap HOST:PORT --model digits --sample dg-00017 --sample dg-00342
    python3 publish.py --bootstrap HOST:PORT --model digits --class 7 --request-id drop-class-7
    python3 publish.py --bootstrap HOST:PORT --model digits --subject a --subject b   # one request per subject

Each request goes to the deletions topic with the model id as key (unlearnd rejects a key that differs from the
model) and waits for the broker's delivery report; the script prints one line per delivered request
(`request_id partition offset`) and exits 1 if any request was not delivered. Request ids must be unique: a
repeated id is counted as a duplicate and ignored by the daemon. Without --request-id each request gets a random
UUID; with it and several subjects the ids are `<id>-<n>`.

Kafka client properties (security.protocol, sasl.*, ...) pass through with -X key=value, as with kcat.
Requires: pip install confluent-kafka. The JSON Schema of the value is Config/schemas/deletion-request.schema.json.
"""
import argparse
import datetime
import json
import sys
import uuid

from confluent_kafka import KafkaException, Producer

SCHEMA = "unlearn.deletion.v1"
MAX_SAMPLE_IDS = 1000


def requests_from(args):
    """The JSON objects to publish: one per subject, one for the samples, or one for the class."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if args.subject:
        scopes = [{"scope": "subject", "subject": s} for s in args.subject]
    elif args.sample:
        if len(args.sample) > MAX_SAMPLE_IDS:
            sys.exit(f"publish.py: {len(args.sample)} sample ids; send at most {MAX_SAMPLE_IDS} per request")
        scopes = [{"scope": "sample", "sample_ids": args.sample}]
    else:
        scopes = [{"scope": "class", "class": args.class_label}]
    requests = []
    for n, scope in enumerate(scopes):
        if args.request_id is None:
            request_id = str(uuid.uuid4())
        else:
            request_id = args.request_id if len(scopes) == 1 else f"{args.request_id}-{n}"
        requests.append({"schema": SCHEMA, "request_id": request_id, "model": args.model, **scope, "requested_at": now})
    return requests


def main():
    parser = argparse.ArgumentParser(description="Publish unlearnd deletion requests and wait for their delivery.")
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers (host:port[,host:port])")
    parser.add_argument("--topic", default="unlearn.deletions", help="deletions topic (default %(default)s)")
    parser.add_argument("--model", required=True, help="model id as registered in the daemon's config")
    scope = parser.add_mutually_exclusive_group(required=True)
    scope.add_argument("--subject", action="append", help="forget every row of this identity (repeatable: one request each)")
    scope.add_argument("--sample", action="append", help="forget this sample id (repeatable: one request, 1..1000 ids)")
    scope.add_argument("--class", dest="class_label", type=int, help="forget every row of this class label")
    parser.add_argument("--request-id", help="request id (default: a random UUID per request)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for delivery (default %(default)s)")
    parser.add_argument("-X", dest="properties", action="append", default=[], metavar="KEY=VALUE",
                        help="extra Kafka client property (repeatable)")
    args = parser.parse_args()

    config = {"bootstrap.servers": args.bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    for item in args.properties:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-X {item}: expected KEY=VALUE")
        config[key] = value
    producer = Producer(config)

    failures = []

    def delivered(err, msg):
        request_id = json.loads(msg.value())["request_id"]
        if err is not None:
            failures.append(f"{request_id}: {err}")
        else:
            print(f"{request_id} {msg.partition()} {msg.offset()}", flush=True)

    requests = requests_from(args)
    try:
        for request in requests:
            value = json.dumps(request, separators=(",", ":")).encode()
            producer.produce(args.topic, key=args.model.encode(), value=value, on_delivery=delivered)
            producer.poll(0)
        undelivered = producer.flush(args.timeout)
    except KafkaException as error:
        sys.exit(f"publish.py: {error}")
    if undelivered:
        failures.append(f"{undelivered} request(s) not delivered within {args.timeout} s (is the broker at {args.bootstrap} reachable?)")
    for failure in failures:
        print(f"publish.py: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
