"""A loopback S3-compatible server (moto's standalone server) for tests, reached the standard
way: AWS_ENDPOINT_URL and credentials from the environment."""

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from tests.ray_cluster import free_port, wait_for_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "wit-test",
    "AWS_SECRET_ACCESS_KEY": "wit-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def s3_server() -> Iterator[dict[str, str]]:
    """`python -m moto.server` on 127.0.0.1; yields the environment a client needs to reach
    it (endpoint and credentials), stops the server after."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", **CREDENTIALS}
    finally:
        server.terminate()
        server.wait(timeout=30)


def client(env: dict[str, str]) -> Any:
    """A boto3 S3 client of the server, apart from fsspec (to read what the pipeline wrote)."""
    return boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )


def objects(env: dict[str, str], bucket: str, prefix: str) -> dict[str, bytes]:
    """The objects under `prefix/` read straight from the server, by name under the prefix."""
    s3 = client(env)
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    return {
        item["Key"].removeprefix(f"{prefix}/"): s3.get_object(Bucket=bucket, Key=item["Key"])[
            "Body"
        ].read()
        for item in listing
    }
