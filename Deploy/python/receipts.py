#!/usr/bin/env python3
"""Consume unlearnd's release receipts (schema unlearn.released.v1) with confluent-kafka.

    python3 receipts.py --bootstrap HOST:PORT                                 # follow, print each new receipt
    python3 receipts.py --bootstrap HOST:PORT --verify                        # and check each released file
    python3 receipts.py --bootstrap HOST:PORT --request-id r-42 --timeout 600 # was request r-42 released?
    kcat -b HOST:PORT -t unlearn.receipts -C -o beginning -e -q | python3 receipts.py --input -

Prints each receipt once, as one JSON line on stdout (the event as published). The daemon publishes the receipt of
a model's newest release again at start, because a crash may have come between the release and the receipt's
delivery; copies carry the same event_id and are skipped here (noted on stderr). Offsets are committed after a
receipt is printed, so a restarted consumer in the same group continues where it left off; pass --seen-file to
remember event ids across restarts too.

--verify computes the SHA-256 of the released file named in the receipt (`file`, or DIR/<model>/current.safetensors
with --released-dir DIR) and compares it with the receipt's sha256. Each release replaces that file, so an older
receipt can only be checked while no later release has replaced it: a file whose safetensors metadata names a later
unlearnd.version is reported as replaced, not as a mismatch. A file that is not readable here is reported, and the
receipt printed unverified. A mismatch stops the script before the receipt is printed or its offset committed.

--request-id X answers "was request X released?": it reads every receipt still on the topic (from the beginning,
in a fresh consumer group, committing nothing), prints the version of the release that made X effective and exits
0, or keeps waiting for new receipts until --timeout. A request applied but not yet released is found by the next
release's receipt.

--input FILE (repeatable; - is stdin) reads receipts from files instead of Kafka: whitespace-separated JSON values,
e.g. one per line as kcat prints them, or one pretty-printed receipt per file. Needs no Kafka client.

Exit status: 0 after --count receipts, when --request-id was found, at the end of --input, or at --timeout without
--count or --request-id; 1 when --request-id was not found by --timeout (or in the --input); 2 on a usage error
or an unreadable --input file; 3 when --timeout passes before --count receipts arrived; 4 on a Kafka error; 5 when
--verify finds a released file that does not match its receipt (a file of the receipt's version, or of an earlier
one, with another digest). Values that are not unlearn.released.v1 receipts are reported on stderr and skipped.

The dev broker (librdkafka's mock cluster) finishes a rebalance only session.timeout.ms - 1 s after a member
leaves, so this script sets session.timeout.ms=6000; override it with -X like any other client property.
Requires: pip install confluent-kafka (not for --input). The JSON Schema of the value is
Config/schemas/release-event.schema.json; check_receipt below applies the same rules without a schema library.
"""
import datetime
import hashlib
import json
import os
import re
import sys
import uuid

import consumer
from seen_ids import load_seen, remember

SCHEMA = "unlearn.released.v1"
MODEL_ID = r"[a-z0-9][a-z0-9._-]{0,63}"
RFC3339 = re.compile(
    r"([0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
FIELDS = (
    "schema", "event_id", "model", "version", "budget_epoch", "sha256", "file", "request_ids", "mode", "certified",
    "sigma", "epsilon_release", "epsilon_spent", "epsilon_budget", "delta", "released_at",
)
# Exit statuses (see the module docstring).
FOUND, NOT_FOUND, USAGE, COUNT_TIMEOUT, KAFKA_ERROR, MISMATCH = 0, 1, 2, 3, 4, 5


def is_integer(value):
    # JSON Schema counts 7.0 as an integer; bool is an int subclass in Python but never a JSON number.
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_receipt(event):
    """The first reason why `event` (a decoded JSON value) is not an unlearn.released.v1 receipt, or None.

    The rules of Config/schemas/release-event.schema.json, and one a schema cannot state: event_id is this
    receipt's own <model>:<version> (de-duplication relies on it). re.fullmatch anchors at the true end of the
    string, where a pattern ending in $ would also accept a final newline.
    """
    if not isinstance(event, dict):
        return "not a JSON object"
    if event.get("schema") != SCHEMA:
        return f"schema is not {SCHEMA}"
    missing = [key for key in FIELDS if key not in event]
    if missing:
        return f"missing {', '.join(missing)}"
    extra = sorted(set(event) - set(FIELDS))
    if extra:
        return f"unknown field {', '.join(extra)}"
    model = event["model"]
    if not isinstance(model, str) or not re.fullmatch(MODEL_ID, model):
        return "model is not a model id"
    for key in ("version", "budget_epoch"):
        if not is_integer(event[key]) or event[key] < 1:
            return f"{key} is not an integer >= 1"
    if not isinstance(event["event_id"], str) or not re.fullmatch(MODEL_ID + r":[1-9][0-9]*", event["event_id"]):
        return "event_id is not <model>:<version>"
    if event["event_id"] != f"{model}:{int(event['version'])}":
        return "event_id is not this receipt's <model>:<version>"
    if not isinstance(event["sha256"], str) or not re.fullmatch(r"[0-9a-f]{64}", event["sha256"]):
        return "sha256 is not 64 lowercase hex digits"
    file = event["file"]
    if not isinstance(file, str) or not re.fullmatch(r"(.*/)?released/" + MODEL_ID + r"/current\.safetensors", file):
        return "file is not a released/<model>/current.safetensors path"
    ids = event["request_ids"]
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        return "request_ids is not an array of non-empty strings"
    if len(set(ids)) != len(ids):
        return "request_ids repeats an id"
    if event["mode"] not in ("certified", "adaptive", "retrained"):
        return "mode is not certified, adaptive or retrained"
    if not isinstance(event["certified"], bool):
        return "certified is not a boolean"
    for key in ("sigma", "epsilon_release", "epsilon_spent"):
        if not is_number(event[key]) or event[key] < 0:
            return f"{key} is not a number >= 0"
    if not is_number(event["epsilon_budget"]) or event["epsilon_budget"] <= 0:
        return "epsilon_budget is not a number > 0"
    if not is_number(event["delta"]) or not 0 < event["delta"] < 1:
        return "delta is not a number in (0, 1)"
    stamp = event["released_at"]
    match = RFC3339.fullmatch(stamp) if isinstance(stamp, str) else None
    try:
        # The pattern allows 31 February; the calendar does not (the schema's format: date-time).
        valid_day = match is not None and datetime.date(*(int(match.group(i)) for i in (1, 2, 3))) is not None
    except ValueError:
        valid_day = False
    if not valid_day:
        return "released_at is not an RFC 3339 date-time"
    return None


def reject_constant(name):
    # json.loads accepts NaN and Infinity, which RFC 8259 JSON (and so a receipt) cannot contain.
    raise ValueError(f"{name} is not JSON")


def reject_duplicates(pairs):
    # Parsers disagree on which of two equal keys wins, so a receipt with one cannot be read one way only.
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key appears twice")
    return dict(pairs)


def parse(text):
    """A receipt from its JSON text; raises ValueError with the reason when it is not one."""
    event = json.loads(text, parse_constant=reject_constant, object_pairs_hook=reject_duplicates)
    problem = check_receipt(event)
    if problem:
        raise ValueError(problem)
    return event


def values_in(stream, name):
    """(where, text) of each whitespace-separated JSON value in a text stream; raises ValueError on bad JSON."""
    text = stream.read()
    decoder = json.JSONDecoder()
    position, index = 0, 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position == len(text):
            return
        try:
            _, end = decoder.raw_decode(text, position)
        except ValueError as error:
            raise ValueError(f"{name}: value {index + 1} is not JSON: {error}") from None
        index += 1
        yield f"{name}#{index}", text[position:end]
        position = end


def file_version(head):
    """unlearnd.version from a safetensors header (8-byte little-endian length, then JSON), or None."""
    try:
        length = int.from_bytes(head[:8], "little")
        metadata = json.loads(head[8:8 + length]).get("__metadata__") or {}
        return int(metadata["unlearnd.version"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def verify(event, released_dir):
    """(ok, message): whether the released file matches the receipt; ok is None when it could not be checked."""
    path = event["file"] if released_dir is None else os.path.join(released_dir, event["model"], "current.safetensors")
    try:
        # One open file for header and digest: a release replaces the file by rename, which leaves this one intact.
        with open(path, "rb") as f:
            digest = hashlib.sha256()
            head = f.read(8)
            if len(head) == 8:
                length = int.from_bytes(head, "little")
                head += f.read(min(length, 100 << 20))
            digest.update(head)
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as error:
        return None, f"not verified: {path} is not readable here ({error.strerror})"
    if digest.hexdigest() == event["sha256"]:
        return True, f"verified: {path} has the receipt's SHA-256"
    version = file_version(head)
    if version is not None and version > event["version"]:
        return None, f"not verified: {path} now holds version {version}, a later release"
    holds = "no unlearnd.version" if version is None else f"version {version}"
    return False, f"MISMATCH: {path} ({holds}) has SHA-256 {digest.hexdigest()}, the receipt {event['sha256']}"


class Receipts:
    """What happens to each value, from Kafka or --input alike: de-duplication, --verify and --request-id."""

    def __init__(self, args):
        self.args = args
        self.seen = load_seen(args.seen_file)
        self.printed = 0
        self.found = None

    def note(self, message):
        print(f"receipts.py: {message}", file=sys.stderr, flush=True)

    def handle(self, where, value):
        """Returns an exit status when the script is done, else None."""
        try:
            event = parse(value)
        except (ValueError, TypeError, UnicodeDecodeError) as error:
            self.note(f"skipped {where}: not an {SCHEMA} receipt: {error}")
            return None
        event_id = event["event_id"]
        if self.args.model and event["model"] != self.args.model:
            return None
        if event_id in self.seen:
            self.note(f"skipped {where}: duplicate of receipt {event_id}")
            return None
        found = self.args.request_id is not None and self.args.request_id in event["request_ids"]
        if self.args.verify and (self.args.request_id is None or found):
            ok, message = verify(event, self.args.released_dir)
            self.note(f"{event_id} {message}")
            # Neither printed nor remembered: whatever acts on the output never sees weights that are not the
            # release's, and the receipt is read again once the file is repaired.
            if ok is False:
                return MISMATCH
        self.seen.add(event_id)
        remember(self.args.seen_file, event_id)
        if self.args.request_id is None:
            print(json.dumps(event, sort_keys=True, ensure_ascii=False), flush=True)
            self.printed += 1
        if found:
            self.note(f"request {self.args.request_id} was released in {event['model']} version {event['version']}")
            print(int(event["version"]), flush=True)
            return FOUND
        if self.args.count is not None and self.printed >= self.args.count:
            return FOUND
        return None

    def at_timeout(self):
        return self.at_end(timed_out=True)

    def at_end(self, timed_out):
        """The exit status at --timeout or at the end of --input."""
        if self.args.request_id is not None:
            self.note(f"request {self.args.request_id} is in no receipt " + ("by --timeout" if timed_out else "of the input"))
            return NOT_FOUND
        if self.args.count is not None and timed_out:
            self.note(f"timed out after {self.args.timeout} s with {self.printed} of {self.args.count} receipts")
            return COUNT_TIMEOUT
        return FOUND


def consume_inputs(receipts, paths):
    for path in paths:
        try:
            stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
        except OSError as error:
            receipts.note(f"{path}: {error.strerror}")
            return USAGE
        with stream:
            try:
                for where, text in values_in(stream, "stdin" if path == "-" else path):
                    status = receipts.handle(where, text)
                    if status is not None:
                        return status
            except (ValueError, UnicodeDecodeError) as error:
                receipts.note(f"skipped the rest of {path}: {error}")
    return receipts.at_end(timed_out=False)


def main():
    parser = consumer.argument_parser(
        "Print unlearnd release receipts, once per event_id.",
        events="receipts", ids="event ids", topic="unlearn.receipts", group="unlearn-receipts-py",
        bootstrap_required=False,
        own={
            "--bootstrap": [
                consumer.option("--input", action="append", metavar="FILE",
                                help="read receipts from FILE (- is stdin) instead"),
            ],
            "--group": [consumer.option("--model", help="only receipts of this model")],
            "--timeout": [
                consumer.option("--verify", action="store_true",
                                help="check each released file's SHA-256 against its receipt"),
                consumer.option("--released-dir", metavar="DIR",
                                help="with --verify: DIR/<model>/current.safetensors, not `file`"),
                consumer.option("--request-id",
                                help="exit 0 printing the version of the release that made this request effective"),
            ],
        },
    )
    args = parser.parse_args()
    if (args.bootstrap is None) == (args.input is None):
        parser.error("give either --bootstrap or --input")
    if args.request_id is not None and args.count is not None:
        parser.error("--count counts printed receipts; --request-id prints none")
    if args.request_id is not None and args.seen_file is not None:
        parser.error("--seen-file would hide the receipts a --request-id query has to read")

    receipts = Receipts(args)
    if args.input is not None:
        return consume_inputs(receipts, args.input)
    # A query reads every receipt still on the topic, so it must not start from (or move) a group's offsets.
    query = args.request_id is not None
    config = consumer.client_config(args, parser, group=f"unlearn-receipts-query-{uuid.uuid4()}" if query else None)
    return consumer.run(
        config, args.topic, args.timeout, receipts, kafka_error=KAFKA_ERROR,
        # A mismatch is left uncommitted, so the receipt is read again once the file is repaired.
        commit=lambda status: not query and status != MISMATCH,
    )


if __name__ == "__main__":
    sys.exit(main())
