"""A local S3-compatible server for the documents tests: moto's server mode on a free port, with one bucket."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

BUCKET = "insureops-documents-test"
ACCESS = {"documents_s3_access_key_id": "testing", "documents_s3_secret_access_key": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server, running in this process's thread until the block ends; yields its URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_bucket(Bucket=BUCKET)
        yield url
    finally:
        server.stop()
