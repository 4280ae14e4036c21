"""Spark for the staging layer: one lazy session per process, reached through dagster-pyspark.

A session takes 16-26 s to start here, so it starts on first use (never at code-location load,
never per step) and every asset, test and IO manager of the process then shares it. Which
Spark it is (local or Spark Connect) and whether Spark reads and writes Iceberg itself are
settings, decided in ``spark_config`` and ``native_iceberg``; the assets never branch on them.
"""

# No `from __future__ import annotations`: Dagster reads the resource fields' annotations
# (`dg.ResourceDependency[Settings]`) as objects.

import datetime as dt
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_pyspark import PySparkResource
from dagster_pyspark.resources import spark_session_from_config
from pydantic import PrivateAttr
from pyiceberg.expressions import AlwaysTrue, BooleanExpression

from lakehouse.catalog import shared_catalog
from lakehouse.engine_conf import spark_catalog_conf
from lakehouse.iceberg.reads import file_batches
from lakehouse.iceberg.writes import window_filter
from lakehouse.settings import PREFIX, Settings, SettingsError
from lakehouse.staging.spill import is_local, spill_to_spark

Window = tuple[dt.datetime, dt.datetime]

# C1 only and the serial GC: the driver starts several seconds faster on 2 cores.
DRIVER_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def native_iceberg(settings: Settings) -> bool:
    """Whether Spark reads and writes Iceberg itself: only on the platform, whose Spark has the
    Iceberg runtime. Spark 4 has none here, so embedded runs go through pyiceberg and Arrow."""
    return settings.runtime == "platform"


def spark_config(settings: Settings) -> dict[str, str]:
    """Session conf: Spark Connect if ``spark_remote`` is set, else a small local session; plus
    the generated Iceberg catalog conf (``lakehouse.engine_conf``) where Spark writes Iceberg."""
    conf = {"spark.sql.session.timeZone": "UTC"}
    if settings.spark_remote:
        conf["spark.remote"] = settings.spark_remote
    else:
        conf |= {
            "spark.master": settings.spark_master,
            "spark.app.name": "lakehouse-staging",
            "spark.driver.memory": settings.spark_driver_memory,
            "spark.driver.extraJavaOptions": DRIVER_JAVA_OPTIONS,
            "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
            # Parquet the IO manager reads back (``spill``): microsecond timestamps, not INT96.
            "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
        }
    if native_iceberg(settings):
        conf |= spark_catalog_conf(settings)
        if settings.spark_remote:
            # Static: the Spark Connect server was started with it (its spark-defaults, from the
            # same generator); a client setting it only earns a warning.
            conf.pop("spark.sql.extensions")
    return conf


_LOCK = threading.Lock()
_SESSION: list[Any] = []  # the process's session, once started


def _alive(session: Any) -> bool:
    if hasattr(session, "is_stopped"):  # Spark Connect
        return not session.is_stopped
    return session.sparkContext._jsc is not None


def process_session(conf: Mapping[str, str]) -> Any:
    """The process's one Spark session, started with ``conf`` on first use.

    Later calls return it whatever their conf (the first user wins): a second local session
    cannot start in the same JVM, and a local and a Connect session do not mix in one process.
    """
    with _LOCK:  # concurrent first uses must not race to start two JVMs
        if not _SESSION or not _alive(_SESSION[0]):
            _SESSION[:] = [spark_session_from_config(dict(conf))]
        return _SESSION[0]


class SparkResource(PySparkResource):
    """dagster-pyspark's ``PySparkResource``, lazy and process-wide, plus the staging reads.

    ``spark_config`` is generated from ``settings`` by ``build_spark_resource``; the same
    settings point the pyiceberg side at the catalog.
    """

    settings: dg.ResourceDependency[Settings]
    _spills: list[Path] = PrivateAttr(default_factory=list)  # this run's input files

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Start nothing at run start: the session starts on first use (see process_session)."""

    @property
    def spark_session(self) -> Any:
        if native_iceberg(self.settings) and "spark.remote" not in self.spark_config:
            # Checked here, not at load: a missing URL must not stop the whole code location.
            raise SettingsError(
                f"{PREFIX}SPARK_REMOTE: the platform runtime runs staging on the Spark Connect "
                "server (sc://...); the code-location image has no Iceberg runtime for Spark"
            )
        return process_session(self.spark_config)

    def read_table(
        self,
        identifier: tuple[str, str],
        *,
        time_column: str | None = None,
        window: Window | None = None,
    ) -> Any:
        """A Spark DataFrame of an Iceberg table, only ``window``'s rows if given.

        Natively through Spark's catalog on the platform; elsewhere pyiceberg scans with the
        window as row filter (files outside it are skipped) and a local Spark reads the rows
        from a Parquet file written batch by batch (``spill``), a Connect one gets them in Arrow.
        """
        settings = self.settings
        if native_iceberg(settings):
            from spark import iceberg_io

            name = iceberg_io.qualified_name(settings.catalog_name, identifier)
            return iceberg_io.read_table(
                self.spark_session, name, time_column=time_column, window=window
            )
        row_filter: BooleanExpression = AlwaysTrue()
        if window is not None:
            if time_column is None:
                raise ValueError(f"{'.'.join(identifier)}: a window needs its time column")
            row_filter = window_filter(time_column, window)
        table = shared_catalog(settings).load_table(identifier)
        spark = self.spark_session
        if not is_local(spark):
            return spark.createDataFrame(table.scan(row_filter=row_filter).to_arrow())
        return spill_to_spark(spark, file_batches(table, row_filter), self._spill_directory())

    def _spill_directory(self) -> Path:
        if not self._spills:
            self._spills.append(Path(tempfile.mkdtemp(prefix="lakehouse-spark-in-")))
        return self._spills[0]

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """The run's input files go with the run (its DataFrames were written by then)."""
        for directory in self._spills:
            shutil.rmtree(directory, ignore_errors=True)
        self._spills.clear()


def build_spark_resource(settings: Settings) -> SparkResource:
    """The staging Spark resource for ``settings``."""
    return SparkResource(spark_config=spark_config(settings), settings=settings)
