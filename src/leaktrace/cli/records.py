"""The distribution record: who received what, and whether the audit trail is intact."""
