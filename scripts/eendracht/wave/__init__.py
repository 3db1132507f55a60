"""Wave orchestration: one municipality migrated through the phase playbooks, journaled."""
