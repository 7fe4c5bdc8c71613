"""What alerts.py and receipts.py share as consumers of one unlearnd topic: options, client properties, poll loop.

The script keeps what its events mean: a handler object with `handle(where, value)`, which returns an exit status
once the script is done (else None), `at_timeout()`, the exit status at --timeout, and `note(message)`, which
writes one line to stderr. confluent-kafka is imported only when the loop runs, so receipts.py --input needs no
Kafka client.
"""

import argparse
import time


def argument_parser(description, *, events, ids, topic, group, bootstrap_required=True, own=None):
    """A parser with the shared options: --bootstrap, --topic, --group, --count, --timeout, --seen-file and -X.

    `events` and `ids` name what the script counts and remembers in the help ("alerts", "alert ids"). `own` maps a
    shared option to the script's own options, (flags, keywords) pairs from `option`, that --help lists right
    after it, so that an option stands next to the ones it goes with.
    """
    own = own or {}
    parser = argparse.ArgumentParser(description=description)

    def add(*flags, **keywords):
        parser.add_argument(*flags, **keywords)
        for own_flags, own_keywords in own.get(flags[0], ()):
            parser.add_argument(*own_flags, **own_keywords)

    add("--bootstrap", required=bootstrap_required, help="Kafka bootstrap servers (host:port[,host:port])")
    add("--topic", default=topic, help=f"{events} topic (default %(default)s)")
    add("--group", default=group, help="consumer group id (default %(default)s)")
    add("--count", type=int, help=f"exit 0 after this many distinct {events}")
    add("--timeout", type=float, help="stop after this many seconds")
    add("--seen-file", help=f"file of {ids} already handled (appended to; survives restarts)")
    add("-X", dest="properties", action="append", default=[], metavar="KEY=VALUE",
        help="extra Kafka client property (repeatable)")
    return parser


def option(*flags, **keywords):
    """One of a script's own options for `argument_parser`, written as for `add_argument`."""
    return flags, keywords


def client_config(args, parser, group=None):
    """The consumer's client properties from the shared options (`group` instead of --group if given).

    Offsets are committed by `run`, after the script has handled a message. The dev broker (librdkafka's mock
    cluster) finishes a rebalance only session.timeout.ms - 1 s after a member leaves, hence 6000; -X overrides
    any of these, and a -X that is not KEY=VALUE is a usage error.
    """
    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group if group is None else group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
    }
    for item in args.properties:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"-X {item}: expected KEY=VALUE")
        config[key] = value
    return config


def run(config, topic, timeout, handler, *, kafka_error, commit=lambda status: True):
    """Feeds each message of `topic` to `handler` until it returns an exit status, or `timeout` seconds pass.

    A message's offset is committed after it is handled when `commit(status)` is true, so a restarted consumer in
    the same group continues after it. A Kafka error that is not fatal is noted and polling goes on; a fatal one,
    or any KafkaException, is noted and `kafka_error` returned.
    """
    from confluent_kafka import Consumer, KafkaError, KafkaException

    deadline = None if timeout is None else time.monotonic() + timeout
    client = Consumer(config)
    try:
        client.subscribe([topic])
        while True:
            if deadline is not None and time.monotonic() >= deadline:
                return handler.at_timeout()
            msg = client.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                if msg.error().fatal():
                    raise KafkaException(msg.error())
                handler.note(f"{msg.error()}")
                continue
            status = handler.handle(f"{msg.topic()}[{msg.partition()}]@{msg.offset()}", msg.value())
            if commit(status):
                client.commit(message=msg, asynchronous=False)
            if status is not None:
                return status
    except KafkaException as error:
        handler.note(f"{error}")
        return kafka_error
    finally:
        client.close()
