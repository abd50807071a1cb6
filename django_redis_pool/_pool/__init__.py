"""The pools: counters, connection naming, the thread and asyncio drivers."""
