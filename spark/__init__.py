"""Spark jobs of the lakehouse: pure DataFrame transforms and their spark-submit entry point.

Nothing here imports ``lakehouse``: the Spark image ships this directory alone, so the
transforms run the same under Dagster (local or Spark Connect) and under spark-submit.
"""
