"""Use cases: functions taking a command (or plain arguments), the caller and a unit of work.

They are the only place that commits, and the only place that decides what a caller may see, so
that the pages, the API and the CLI cannot differ.
"""
