"""Snapshot hygiene: which files retained snapshots reach (``reachability.py``), snapshot
expiry that frees storage (``expiry.py``), stale audit branches (``audit_branches.py``) and
orphan files (``orphans.py``); ``assets.py`` holds the expiry and orphan assets."""
