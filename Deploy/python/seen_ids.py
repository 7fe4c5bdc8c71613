"""The event ids a consumer has handled, kept in a file so a restart skips re-sent events (alerts.py, receipts.py).

unlearnd re-sends its retrain alert and its newest release receipt with the same id after a restart; a consumer
that must act once per event records each id here after acting on it (appended and fsynced).
"""

import os


def load_seen(path):
    """The ids recorded in `path` (an empty set when there is no file or no path)."""
    if not path or not os.path.exists(path):
        return set()
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f if line.strip()}


def remember(path, event_id):
    """Appends `event_id` to `path` durably (no-op without a path)."""
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(event_id + "\n")
            f.flush()
            os.fsync(f.fileno())
