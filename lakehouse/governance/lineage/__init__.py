"""OpenLineage export (seed §3.2, §8): run events with dataset facets for the data catalog."""
