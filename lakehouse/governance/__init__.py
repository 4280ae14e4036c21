"""Governance the seed asks for (§3.2, §4.2, §5.1, §5.2, §8): the audit trail, lineage export,
schema contracts, archives before deletion, and GDPR export and consent.

A library package: it knows tables, schemas and runs, never a layer or an upkeep job; those
call it.
"""
