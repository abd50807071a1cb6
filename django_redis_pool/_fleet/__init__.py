"""The fleet view: every process publishes a snapshot of its pools into Redis with a TTL (the way
Sidekiq and RQ processes heartbeat), and any process reads them all: the status command, the page,
the metrics. Built on the one stats report (``_report``), so sync and asyncio pools alike."""
