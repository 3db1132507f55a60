"""Notifications of a wave's progress to webhooks (Teams, Slack, Mattermost, generic JSON).

`events` (the event), one formatter per channel kind (`teams`, `slack`, `mattermost`,
`generic`; `formats` maps kinds to them), `urls` (reading and checking a webhook URL, and the
parts of it to redact), `sender` (the background delivery), `notifier` (what the orchestrator
calls). Kept import-free here: `eendracht.environment` imports `events` and `urls`.
"""
