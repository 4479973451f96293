"""The runtime's store: one database (SQLite by default, PostgreSQL to scale out) behind one
interface that behaves the same on both.

    store = open_store("sqlite:////data/nango.db", encryption_key=key)   # migrates on open
    env = store.environments.ensure("dev").environment
    integration = store.integrations.create(env.id, "github", "github")
    conn, _ = store.connections.upsert(env.id, "github", "acme", credentials={...})
    store.records.save(conn.id, "Issue", [{"id": 1, "title": "..."}])
    page = store.records.list_page(conn.id, "Issue", limit=100)

Operations (`env` an environment id, `conn` a connection's numeric id, `key` an integration's
unique key):

    environments  ensure(name, secret_key=)             create; set the key, or generate one
                                                          (returned once, stored hashed)
                  find_by_secret_key(key)               SHA-256 lookup, constant-time check
                  get(name) get_by_id(id) list_all()
                  set_secret_key(name, key)  set_webhooks(name, urls=, settings=)
                  signing_key(id)                       the key in clear, to sign webhooks
    variables     list_all(env) set(env, name, value) replace_all(env, {...}) delete(env, name)
                                                        values encrypted
    integrations  create(env, key, provider, ...)       ConflictError when the key is taken
                  get(env, key) get_by_id(id) list_all(env) update(env, key, ...) delete(env, key)
    connections   upsert(env, key, connection_id, credentials=, ...) -> (connection, created)
                  get(env, key, connection_id) get_by_id(id)   credentials decrypted
                  list_all(env, ConnectionFilter(...), limit=, offset=, newest_first=)
                                                        without credentials
                  delete(env, key, connection_id)       its records and checkpoints go too
                  lock_for_refresh(id)                  in a transaction: one refresh at a time
                  save_credentials(id, credentials, expires_at=)   after a refresh
                  record_refresh_failure(id, error, next_retry_at=)  mark_fetched(id)
                  set_metadata(env, key, [ids], m)      replace, all connections or none
                  update_metadata(env, key, [ids], m)   shallow merge, all or none
    records       save(conn, model, batch, generation=, now=)   ADDED / UPDATED / unchanged
                                                        (nothing written); undelete = ADDED
                  delete(conn, model, batch)            soft delete of live records
                  update(conn, model, batch)            deep merge into live records
                  get_by_ids(conn, model, ids)          live payloads by external id
                  list_page(conn, model, variant=, modified_after=, limit=, filter=, cursor=,
                            ids=)                       one page of GET /records (dicts)
                  list_page_json(...)                   the same as the exact JSON body, built
                                                        without parsing a record (for the API)
                  delete_unseen(conn, model, generation)   delete detection (a save or update
                                                        with generation= marks records seen)
                  delete_all_for_model(conn, model)     a removed sync (variants included)
                  count_live(conn, models=)             recordCount of /sync/status
    checkpoints   get(conn, key) save(conn, key, value, expected_version=) clear(conn, key)
                  clear_prefix(conn, prefix)            a sync reset
    oauth         create(env, key, connection_id, state=, ...)   a PENDING connect session
                  get(state) get_by_link(hash)          code verifier decrypted
                  claim(state)                          PENDING -> EXCHANGING, once
                  finish(state, succeeded=, result=)    SUCCESS / ERROR with a message
    sources       put(text) put_many(texts) -> hashes   content-addressed, compressed
                  get(hash) get_many(hashes)
    scripts       create_deployment(env, mode=, ...)    a deploy
                  activate(env, deployment, NewScript)  a new active version (old kept)
                  active(env, key, type, name)  list_active(env, integration_key=, type=)
                  get(id) latest(integration, type, name) remove(integration, type, name)
    syncs         ensure(conn, SyncSpec, variant=)      schedule rows: one per (connection,
                  ensure_for_integration(integ, spec)   sync, variant), on a fixed grid
                  ensure_missing()                      rows for connections made after deploy
                  get(conn, name, variant) get_by_id(id) list_for(conns, names=)
                  of_integration(integ, name) remove(ids) reschedule(ids, frequency_ms)
                  set_state(ids, STARTED|PAUSED) request_run(id) record_success(id, ...)
                  reset(id)
    tasks         create(NewTask) get(id) active_for_sync(sync)   runs to hand out
                  claim(owner, limit=, lease_seconds=)  CREATED -> STARTED under a lease token
                  heartbeat(id, token, lease_seconds=)  False: the lease is lost
                  check_lease(id, token) assign_generation(id, token) update_counts(id, c)
                  finish(id, token, state, output=, error=, counts=)  fail(id, token, error)
                  cancel_for_syncs(ids, reason=)        expire()   the expiring pass
                  create_due_sync_tasks(timeouts)       the due pass
                  list_runs(env, connection_id=, name=, kinds=, limit=)
    logs          append(task, [(level, message)]) list(task, after=, limit=)
    webhooks      enqueue(env, kind, urls, body, task_id=, waiting=)   the outbox of
                                                        outgoing webhooks
                  claim(limit=, lease_seconds=)         PENDING (or SENDING past its lease)
                                                        -> SENDING
                  record_attempt(id, status=, error=, retry_at=)   DELIVERED / PENDING / FAILED
                  waiting_on_ended_tasks() release(ids)  async action completions
                  get(id) list_recent(env, states=, kinds=) for_task(task)
    integration_secrets  set(integration, secret) get(integration)   encrypted
    retries       requeue_failed(backoff_s=) will_retry(task)   async actions' X-Max-Retries
    (the store)   transaction()                         operations that commit together
                  fenced(task_id, token)                a transaction that first checks the
                                                        run's lease (`LeaseLostError`)
                  backend, url, close()

Errors are `runtime.store.errors` classes, all `UserError`s or `NangoError`s. SQL lives in this
package only.
"""

from __future__ import annotations

from runtime.store.checkpoints import Checkpoint
from runtime.store.connections import Connection, ConnectionFilter
from runtime.store.crypto import Cipher, generate_key, load_or_create_key_file
from runtime.store.database import sqlite_url
from runtime.store.environments import EnsuredEnvironment, Environment
from runtime.store.integrations import UNSET, Integration
from runtime.store.migrate import upgrade
from runtime.store.oauth import OAuthSession
from runtime.store.records import RecordCounts, RecordPage, model_name
from runtime.store.store import Store, open_store
from runtime.store.variables import EnvironmentVariable

__all__ = [
    "UNSET",
    "Checkpoint",
    "Cipher",
    "Connection",
    "ConnectionFilter",
    "EnsuredEnvironment",
    "Environment",
    "EnvironmentVariable",
    "Integration",
    "OAuthSession",
    "RecordCounts",
    "RecordPage",
    "Store",
    "generate_key",
    "load_or_create_key_file",
    "model_name",
    "open_store",
    "sqlite_url",
    "upgrade",
]
