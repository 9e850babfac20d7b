"""Telling teams that reports wait, and nothing else (docs/notifications.md).

Reviewers work offline, so without this nobody learns that a report arrived
until someone exports. ``tipbox notify run`` (a timer, every minute) sends each
channel's team, through their own tools (apprise: email, Matrix, Signal,
ntfy, ...), a digest at fixed times with counts only, and an immediate alert
for a report whose source asked for one. It runs apart from the web process:
intake never waits on a notification, and the web process never holds the
targets' credentials.
"""
