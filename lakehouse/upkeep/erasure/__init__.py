"""GDPR erasure: remove a subject's rows physically (``erase.py``), queued requests
(``requests.py``), and re-applying erasures to restored tables (``replay.py``)."""
