"""moto's server with DynamoDB requests applied one at a time.

Real DynamoDB applies a TransactWriteItems atomically. moto's threaded server
does not: it snapshots a table, applies the items and, when a condition fails,
restores the snapshot over whatever another thread committed meanwhile, so
tests that race writers (tests/aws_concurrency.rs) saw commits vanish or
reappear. One lock around DynamoDB requests gives them the isolation the
service has; SQS long polls and S3 stay concurrent.

moto also snapshots the table once per item of a TransactWriteItems (a deep
copy of the whole table each time, all before the first item is applied), so
a 100-item transaction cost a hundred copies of the table: on a table of a few
thousand prompts, seconds per batch write, where DynamoDB takes milliseconds.
`copy_tables_once` makes those snapshots one copy per table and transaction:
the same snapshot, since nothing changes between them.

Usage: python moto_atomic.py -H 127.0.0.1 -p PORT  (the moto_server flags).
"""

import argparse
import copy
import threading

import moto.dynamodb.models as dynamodb_models
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

DYNAMODB_TARGET = "DynamoDB_"


class AtomicDynamoDB:
    """WSGI middleware: DynamoDB requests hold one lock for their whole run."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(DYNAMODB_TARGET):
            return self.app(environ, start_response)
        with self.lock:
            # Materialise the body under the lock: moto builds it eagerly, but
            # a lazy iterable would otherwise run after the lock is released.
            return list(self.app(environ, start_response))


class _TableSnapshots:
    """Stands in for the `copy` module inside moto's DynamoDB models: within
    one TransactWriteItems, a table is deep-copied once and that copy handed
    out again; everything else goes to `copy` unchanged."""

    def __init__(self):
        self.snapshots = None

    def deepcopy(self, x, memo=None):
        if self.snapshots is None or type(x).__name__ != "Table":
            return copy.deepcopy(x, memo)
        key = id(x)
        if key not in self.snapshots:
            self.snapshots[key] = (x, copy.deepcopy(x))
        return self.snapshots[key][1]

    def __getattr__(self, name):
        return getattr(copy, name)


def copy_tables_once():
    """Patches moto's transact_write_items (DynamoDB requests run one at a
    time under AtomicDynamoDB's lock, so one shared cache is safe)."""
    snapshots = _TableSnapshots()
    dynamodb_models.copy = snapshots
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        snapshots.snapshots = {}
        try:
            return original(self, transact_items)
        finally:
            snapshots.snapshots = None

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    copy_tables_once()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, AtomicDynamoDB(app), threaded=True)


if __name__ == "__main__":
    main()
