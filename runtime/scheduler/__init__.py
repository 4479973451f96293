"""Sync schedules and frequencies (`runs: every 30min`); the task queue lands with the runtime."""
