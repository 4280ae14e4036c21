"""Raw layer: Airbyte streams landed as Iceberg tables ``raw.faker_*``, one asset per stream."""

from lakehouse.raw.streams import ASSET_KEYS, STREAMS, RawStream

__all__ = ["ASSET_KEYS", "STREAMS", "RawStream"]
