"""What operators watch: metrics in the Prometheus format and the runtime's logs.

- `metrics`: this process's counters and histograms (runs started and ended, durations, start
  delays, lease expiries, records written), fed by the worker's hooks; one registry per process.
- `gauges`: the figures read from the database at scrape time (queue depth and age per kind,
  runs in progress, webhook deliveries by state): global, the same in every process.
- `exposition`: `/metrics` rendered (Prometheus text or OpenMetrics, as the scraper asks), the
  key check, and a small HTTP listener for processes without the API (`--role worker`).
- `logs`: the human or JSON log format, the context of a run's lines, secrets redacted.
"""
