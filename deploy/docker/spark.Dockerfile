# syntax=docker/dockerfile:1.7
# Spark image for the Spark Connect server, SparkApplications and their executors: Apache Spark
# 4.1.3 plus the Iceberg runtime, the Iceberg AWS bundle (S3FileIO) and the PostgreSQL JDBC
# driver (JDBC catalog), each checked against deploy/docker/spark-jars.sha256 at build time.
# Spark is 4.1.x because Iceberg 1.11.0 ships a runtime for Spark 4.1 and none for 4.2+; the
# pyspark that talks to it (uv.lock) must be 4.1.x too (tests/deploy/test_spark_image.py).
#   docker build -f deploy/docker/spark.Dockerfile -t registry.data-platform.local/lakehouse/spark:0.1.0 .

# ---- jars: download, verify, nothing else ----
FROM docker.io/apache/spark:4.1.3-scala2.13-java17-python3-ubuntu AS jars
ARG MAVEN_REPOSITORY=https://repo1.maven.org/maven2
ARG ICEBERG_VERSION=1.11.0
ARG ICEBERG_SPARK_RUNTIME=iceberg-spark-runtime-4.1_2.13
ARG POSTGRESQL_JDBC_VERSION=42.7.13
USER root
WORKDIR /jars
COPY deploy/docker/spark-jars.sha256 /jars/SHA256SUMS
RUN set -eu; \
    fetch() { wget --quiet --tries=3 --output-document="$2" "$1"; }; \
    fetch "${MAVEN_REPOSITORY}/org/apache/iceberg/${ICEBERG_SPARK_RUNTIME}/${ICEBERG_VERSION}/${ICEBERG_SPARK_RUNTIME}-${ICEBERG_VERSION}.jar" "${ICEBERG_SPARK_RUNTIME}-${ICEBERG_VERSION}.jar"; \
    fetch "${MAVEN_REPOSITORY}/org/apache/iceberg/iceberg-aws-bundle/${ICEBERG_VERSION}/iceberg-aws-bundle-${ICEBERG_VERSION}.jar" "iceberg-aws-bundle-${ICEBERG_VERSION}.jar"; \
    fetch "${MAVEN_REPOSITORY}/org/postgresql/postgresql/${POSTGRESQL_JDBC_VERSION}/postgresql-${POSTGRESQL_JDBC_VERSION}.jar" "postgresql-${POSTGRESQL_JDBC_VERSION}.jar"; \
    sha256sum --strict --check SHA256SUMS

# ---- runtime ----
FROM docker.io/apache/spark:4.1.3-scala2.13-java17-python3-ubuntu AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="lakehouse spark" \
      org.opencontainers.image.description="Apache Spark 4.1.3 with Apache Iceberg, S3FileIO and the PostgreSQL JDBC driver" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/apache/spark:4.1.3-scala2.13-java17-python3-ubuntu"
USER root
# A named high-UID user: Hadoop needs a passwd entry for the UID Spark runs as.
RUN groupadd --system --gid 10185 lakehouse \
    && useradd --system --uid 10185 --gid 10185 --no-create-home \
       --home-dir /opt/spark/work-dir --shell /usr/sbin/nologin lakehouse
COPY --from=jars /jars/*.jar /opt/spark/jars/
COPY spark /opt/lakehouse/spark
ENV SPARK_USER=lakehouse \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10185:10185
WORKDIR /opt/spark/work-dir
# Kubernetes probes the pods itself; this covers `docker run` and other runtimes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/bin/sh", "-c", "pgrep -f org.apache.spark > /dev/null"]
