"""Frames, stages, the streaming runner and the turn scope: the core every transport plugs into.

Nothing in this package imports a transport, a provider or a server.
"""
