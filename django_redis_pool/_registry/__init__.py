"""Alias -> built pools and clients: sync, and per event loop."""
