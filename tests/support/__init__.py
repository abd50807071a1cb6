"""The real-server harness: redis-server, Sentinel and Cluster topologies, failover drivers, sdists."""
