#!/bin/sh
# Record the SHA-256 of the jars spark.Dockerfile downloads (run where Maven Central is
# reachable, after changing a version there). The image build refuses unpinned jars.
set -eu
cd "$(dirname "$0")"
repo=${MAVEN_REPOSITORY:-https://repo1.maven.org/maven2}
arg() { sed -n "s/^ARG $1=//p" spark.Dockerfile; }
iceberg=$(arg ICEBERG_VERSION)
runtime=$(arg ICEBERG_SPARK_RUNTIME)
pgjdbc=$(arg POSTGRESQL_JDBC_VERSION)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for url in \
  "$repo/org/apache/iceberg/$runtime/$iceberg/$runtime-$iceberg.jar" \
  "$repo/org/apache/iceberg/iceberg-aws-bundle/$iceberg/iceberg-aws-bundle-$iceberg.jar" \
  "$repo/org/postgresql/postgresql/$pgjdbc/postgresql-$pgjdbc.jar"; do
  curl --fail --silent --show-error --location --output "$tmp/${url##*/}" "$url"
done
(cd "$tmp" && sha256sum -- *.jar) > spark-jars.sha256
cat spark-jars.sha256
