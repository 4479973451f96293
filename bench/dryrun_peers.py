"""Peers of the dry run, timed on the same pages: a worker process run by the peers' virtualenv.

    python dryrun_peers.py PEER BASE_URL RECORDS PAGE_SIZE TOKEN

`dryrun_bench.py --with-peers` starts one worker per peer, with dlt and singer-sdk installed in a
virtualenv of their own (`bench/.cache/peers-venv`), never in the project's. Each line `run` on
stdin runs the peer once and answers one JSON line (`wall`, `cpu`, `count`, and the worker's peak
RSS so far); the worker ends with its stdin. Peers:

- `dlt-rest`: dlt's `RESTClient.paginate` with its `HeaderLinkPaginator`, every record checked
  with the model's core validator (pages and validates, as the dry run does).
- `singer-records`: a Singer SDK `RESTStream` (`HeaderLinkPaginator`, `records_jsonpath` `$[*]`),
  its `get_records`, every record checked with the same core validator.
- `singer-sync`: the same tap's `sync_all()` (records conformed to the stream's JSON schema and
  written as Singer messages, to /dev/null).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr


class Item(BaseModel):
    """The same checks as the generated `Item`: strict types, extra fields kept."""

    model_config = ConfigDict(extra="allow")

    id: StrictStr
    number: StrictInt | StrictFloat
    title: StrictStr
    state: StrictStr
    labels: list[StrictStr]
    created_at: StrictStr
    author: StrictStr | None
    body: StrictStr


VALIDATE = Item.__pydantic_validator__.validate_python


def dlt_rest(base_url: str, page_size: int, token: str) -> Callable[[], int]:
    from dlt.sources.helpers.rest_client import RESTClient
    from dlt.sources.helpers.rest_client.paginators import HeaderLinkPaginator

    def run() -> int:
        client = RESTClient(
            base_url=base_url,
            headers={"authorization": f"Bearer {token}"},
            paginator=HeaderLinkPaginator(),
        )
        count = 0
        for page in client.paginate("/items", params={"per_page": page_size}):
            for record in page:
                VALIDATE(record)
                count += 1
        return count

    return run


def singer_tap(base_url: str, page_size: int, token: str) -> Any:
    from singer_sdk import Tap
    from singer_sdk import typing as th
    from singer_sdk.pagination import HeaderLinkPaginator
    from singer_sdk.streams import RESTStream

    class Items(RESTStream[Any]):
        name = "items"
        path = "/items"
        primary_keys = ("id",)
        records_jsonpath = "$[*]"
        url_base = base_url
        schema = th.PropertiesList(
            th.Property("id", th.StringType, required=True),
            th.Property("number", th.NumberType),
            th.Property("title", th.StringType),
            th.Property("state", th.StringType),
            th.Property("labels", th.ArrayType(th.StringType)),
            th.Property("created_at", th.StringType),
            th.Property("author", th.StringType),
            th.Property("body", th.StringType),
        ).to_dict()

        @property
        def http_headers(self) -> dict[str, str]:
            return {"authorization": f"Bearer {token}"}

        def get_new_paginator(self) -> HeaderLinkPaginator:
            return HeaderLinkPaginator()

        def get_url_params(self, context: Any, next_page_token: Any) -> dict[str, Any]:  # noqa: ARG002
            params: dict[str, Any] = {"per_page": page_size}
            if next_page_token is not None:
                params.update(parse_qsl(next_page_token.query))
            return params

    class BenchTap(Tap):
        name = "tap-bench"
        config_jsonschema = th.PropertiesList().to_dict()

        def discover_streams(self) -> list[Items]:
            return [Items(self)]

    return BenchTap


def singer_records(base_url: str, page_size: int, token: str) -> Callable[[], int]:
    tap_class = singer_tap(base_url, page_size, token)

    def run() -> int:
        stream = tap_class(config={}, validate_config=False).streams["items"]
        count = 0
        for record in stream.get_records(None):
            VALIDATE(record)
            count += 1
        return count

    return run


def singer_sync(base_url: str, page_size: int, token: str) -> Callable[[], int]:
    tap_class = singer_tap(base_url, page_size, token)

    def run() -> int:
        tap = tap_class(config={}, validate_config=False)
        with Path(os.devnull).open("w") as sink, contextlib.redirect_stdout(sink):
            tap.sync_all()
        return -1  # sync_all does not say; the messages went to /dev/null

    return run


PEERS = {"dlt-rest": dlt_rest, "singer-records": singer_records, "singer-sync": singer_sync}


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM on Linux (`ru_maxrss` there would count the memory of the
    process that forked this one), else `ru_maxrss` (bytes on macOS)."""
    with contextlib.suppress(OSError, StopIteration), Path("/proc/self/status").open() as status:
        return int(next(line.split()[1] for line in status if line.startswith("VmHWM:"))) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def commands() -> Iterator[str]:
    for line in sys.stdin:
        yield line.strip()


def main() -> int:
    peer, base_url, records, page_size, token = sys.argv[1:6]
    logging.disable(logging.WARNING)  # the SDKs' progress and metrics logs
    run = PEERS[peer](base_url, int(page_size), token)
    for command in commands():
        if command != "run":
            continue
        cpu, wall = time.process_time(), time.perf_counter()
        count = run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if count not in (-1, int(records)):
            print(json.dumps({"error": f"{peer} read {count} records"}), flush=True)
            return 1
        answer = {"wall": wall, "cpu": cpu, "count": count, "peak_rss_mb": peak_rss_mb()}
        print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
