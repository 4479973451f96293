"""The sender of outgoing webhooks: a thread of every worker process, beside the runs (a slow
or dead receiver never delays a run: runs only add rows to the outbox).

Each round (every `poll_s`):
- async actions (every 2 s): failed runs with `X-Max-Retries` left are requeued, and the completion
  webhooks of the ones that ended for good are released (`outgoing.release_completions`);
- up to `concurrency` due deliveries are claimed (a lease of the timeout plus a margin, so a
  process that dies mid-send leaves them to another) and POSTed in a thread pool, signed with
  the environment's secret key.

An attempt succeeds on a 2xx answer. A network error, a timeout, a 5xx, 408 or 429 is retried
after `webhook_delivery_backoff_s` doubled at each attempt (at most an hour, with jitter), up to
`webhook_delivery_attempts` in all; any other answer (3xx, 4xx) fails the delivery at once,
as Nango does. Every attempt's status and error are kept: the delivery log
(`GET /webhooks/deliveries`, `nango webhooks`).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import httpx

from runtime.http.client import USER_AGENT
from runtime.settings import RuntimeSettings
from runtime.store import Store
from runtime.store.timestamps import now_us
from runtime.store.webhooks import Delivery
from runtime.webhooks.outgoing import release_completions
from runtime.webhooks.signing import nango_signature_headers

__all__ = ["Attempt", "DeliverySender", "attempt_delivery", "should_retry"]

log = logging.getLogger("nango.runtime.webhooks")

LEASE_MARGIN_S = 30.0
# The async actions' pass reads the recent failed runs: every few seconds is soon enough.
ASYNC_PASS_S = 2.0
KEY_CACHE_S = 60.0
MAX_BACKOFF_S = 3600.0
RETRIED_STATUSES = frozenset({408, 429})


@dataclass(frozen=True)
class Attempt:
    """How one POST went: `status` (None: no answer), `error` (None: delivered)."""

    status: int | None
    error: str | None


def should_retry(attempt: Attempt) -> bool:
    """Network errors, timeouts, 5xx, 408 and 429 are worth another try; other answers not."""
    if attempt.error is None:
        return False
    return attempt.status is None or attempt.status >= 500 or attempt.status in RETRIED_STATUSES


def attempt_delivery(
    client: httpx.Client, delivery: Delivery, secret: str | None, timeout_s: float
) -> Attempt:
    """POST the delivery's body, signed with `secret` (unsigned when the environment has no
    key)."""
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    if secret:
        headers.update(nango_signature_headers(secret, delivery.body))
    try:
        response = client.post(
            delivery.url, content=delivery.body.encode(), headers=headers, timeout=timeout_s
        )
    except httpx.TimeoutException:
        return Attempt(None, f"no answer within {timeout_s:g}s")
    except httpx.HTTPError as exc:
        return Attempt(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if 200 <= response.status_code < 300:
        return Attempt(response.status_code, None)
    return Attempt(response.status_code, f"answered {response.status_code}; a 2xx is expected")


class DeliverySender:
    """See the module docstring. `run(stop)` until `stop` is set; `round()` for tests."""

    def __init__(
        self,
        settings: RuntimeSettings,
        store: Store,
        *,
        concurrency: int = 8,
        poll_s: float = 0.5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.concurrency = concurrency
        self.poll_s = poll_s
        self._client = httpx.Client(transport=transport, follow_redirects=False)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="nango-webhook")
        self._in_flight: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._next_async_pass = 0.0
        self._keys: dict[int, tuple[str | None, float]] = {}

    def run(self, stop: threading.Event) -> None:
        """Rounds until `stop` is set: right after a delivery ends while there is work, every
        `poll_s` when there is none."""
        try:
            while not stop.is_set():
                started = 0
                try:
                    started = self.round()
                except Exception:
                    log.exception("the webhook sender's round failed (the next one retries)")
                with self._lock:
                    pending = set(self._in_flight)
                if started and pending:
                    wait(pending, timeout=self.poll_s, return_when=FIRST_COMPLETED)
                else:
                    stop.wait(self.poll_s)
        finally:
            self.close()

    def round(self) -> int:
        """One round (see the module docstring); the number of deliveries started."""
        if time.monotonic() >= self._next_async_pass:
            self._next_async_pass = time.monotonic() + ASYNC_PASS_S
            self.store.retries.requeue_failed(backoff_s=self.settings.action_retry_backoff_s)
            release_completions(self.store)
        with self._lock:
            self._in_flight = {f for f in self._in_flight if not f.done()}
            free = self.concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        lease = self.settings.webhook_delivery_timeout_s + LEASE_MARGIN_S
        claimed = self.store.webhooks.claim(limit=free, lease_seconds=lease)
        for delivery in claimed:
            future = self._pool.submit(self._deliver, delivery)
            with self._lock:
                self._in_flight.add(future)
        return len(claimed)

    def run_async_pass_next(self) -> None:
        """Make the next round run the async actions' pass (tests)."""
        self._next_async_pass = 0.0

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Wait for the deliveries under way (tests)."""
        with self._lock:
            pending = list(self._in_flight)
        for future in pending:
            future.result(timeout)

    def _signing_key(self, environment_id: int) -> str | None:
        """The environment's key, read at most once a minute (keys rarely change)."""
        now = time.monotonic()
        cached = self._keys.get(environment_id)
        if cached is None or cached[1] < now:
            key = self.store.environments.signing_key(environment_id)
            cached = (key, now + KEY_CACHE_S)
            self._keys[environment_id] = cached
        return cached[0]

    def _deliver(self, delivery: Delivery) -> None:
        try:
            secret = self._signing_key(delivery.environment_id)
            timeout = self.settings.webhook_delivery_timeout_s
            outcome = attempt_delivery(self._client, delivery, secret, timeout)
            retry_at = self._retry_at(delivery, outcome)
            self.store.webhooks.record_attempt(
                delivery.id, status=outcome.status, error=outcome.error, retry_at=retry_at
            )
            if outcome.error is not None:
                given_up = " (given up)" if retry_at is None else ""
                log.warning(
                    "webhook %d (%s) to %s: %s%s",
                    delivery.id,
                    delivery.kind,
                    delivery.url,
                    outcome.error,
                    given_up,
                )
        except Exception:
            log.exception("webhook %d not sent (retried after its lease)", delivery.id)

    def _retry_at(self, delivery: Delivery, outcome: Attempt) -> int | None:
        made = delivery.attempts + 1
        if not should_retry(outcome) or made >= self.settings.webhook_delivery_attempts:
            return None
        delay = min(MAX_BACKOFF_S, self.settings.webhook_delivery_backoff_s * 2 ** (made - 1))
        delay *= random.uniform(0.8, 1.2)  # several senders never retry in lockstep
        return now_us() + int(delay * 1_000_000)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()


def start_sender(
    settings: RuntimeSettings, store: Store, stop: threading.Event
) -> threading.Thread:
    """The sender in a daemon thread, until `stop` is set."""
    sender = DeliverySender(settings, store)
    thread = threading.Thread(target=sender.run, args=(stop,), name="nango-webhooks", daemon=True)
    thread.start()
    return thread
