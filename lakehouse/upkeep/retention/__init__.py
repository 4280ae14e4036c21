"""Data retention: rows older than their table's retention are deleted (``apply.py``)."""
