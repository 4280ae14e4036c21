"""Compaction: bin-pack small data files (``bin_packing.py``: the pure planner and the pyiceberg
executor, with ``rewrite.py``, ``file_reads.py``, ``group_writer.py``), or delegate to Trino or
Spark (``engines.py``; Trino tokens from ``lakehouse/trino_auth.py``); ``assets.py`` is the nightly asset."""
