"""One builder per kind of deployment (single server, Sentinel, Cluster), sync and async."""
