"""moto's server with DynamoDB requests applied one at a time.

Real DynamoDB applies a TransactWriteItems atomically. moto's threaded server
does not: it snapshots a table, applies the items and, when a condition fails,
restores the snapshot over whatever another thread committed meanwhile, so
tests that race writers (tests/aws_concurrency.rs) saw commits vanish or
reappear. One lock around DynamoDB requests gives them the isolation the
service has; SQS long polls and S3 stay concurrent.

Usage: python moto_atomic.py -H 127.0.0.1 -p PORT  (the moto_server flags).
"""

import argparse
import threading

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, AtomicDynamoDB(app), threaded=True)


if __name__ == "__main__":
    main()
