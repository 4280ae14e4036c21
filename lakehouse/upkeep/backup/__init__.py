"""Backup and restore: incremental table copies (``table_backup.py``) in a backup location laid
out by ``store.py``, catalog dumps (``catalog_backup.py``), checksums, restore and the restore
check that proves a backup reads back (``restore_check.py``, ``second_reader.py``)."""
