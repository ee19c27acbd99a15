"""The durable harness: an A2A server whose tasks run as Temporal workflows.

Long tasks leave the voice loop for here so that a crash or a deploy loses nothing: each A2A
task is one Temporal workflow (workflow id = task id), journaled by Temporal, and the A2A task
store is a SQLite file. Kept import-light: Temporal's workflow sandbox imports this package.
"""
