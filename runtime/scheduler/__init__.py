"""Sync frequencies (`runs: every 30min`), the passes that turn schedules into runs and expire
runs (`passes`), and what turns API requests into runs (`control`)."""
