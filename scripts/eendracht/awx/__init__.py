"""A wave handed to AWX / Ansible Automation Platform: `eendracht export awx` (docs/pipelines.md)."""
