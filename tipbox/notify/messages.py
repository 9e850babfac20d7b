"""The words of a notification: counts and a channel's name, in the team's language, nothing else.

No id, category, region, time or size of any report ever goes into a
notification: the target (a mail provider, a chat server) is outside
tipbox's trust, and a notification is only a reason to run an export.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale, gettext

from .counts import Counts


@dataclass(frozen=True)
class Notification:
    title: str
    body: str


def digest(channel_name: str, counts: Counts, *, waiting_hours: int, purge_days: int, language: str) -> Notification:
    # "Label: number" lines: no plural forms to get wrong, and the same shape whatever the numbers.
    with force_locale(language):
        lines = [
            gettext("New reports since the last notice: %(num)d", num=counts.new),
            gettext("Follow-ups from sources since the last notice: %(num)d", num=counts.followups),
            gettext("Waiting for export for more than %(hours)d hours: %(num)d", hours=waiting_hours,
                    num=counts.waiting),
            gettext("Urgent, not exported yet: %(num)d", num=counts.urgent),
            gettext("To be deleted within %(days)d days without a decision: %(num)d", days=purge_days,
                    num=counts.purge_soon),
        ]
        return Notification(gettext("tipbox: %(channel)s", channel=channel_name), "\n".join(lines))


def urgent(channel_name: str, count: int, *, language: str) -> Notification:
    with force_locale(language):
        body = gettext("Urgent reports waiting: %(num)d. Export now.", num=count)
        return Notification(gettext("tipbox: urgent report for %(channel)s", channel=channel_name), body)


def test(channel_name: str, *, language: str) -> Notification:
    with force_locale(language):
        return Notification(gettext("tipbox: %(channel)s", channel=channel_name),
                            gettext("Test notice: this target works. Nothing is waiting because of this message."))
