"""The warm start of `nango dryrun`: a per-user background process with the command's modules
already imported, which forks a process per command and runs it with the caller's terminal,
files, environment and working directory (`client` asks, `server` answers, `channel` is what they
share). Off with `NANGO_WARM=0`, and by default under `CI`."""
