#!/bin/sh
# Idempotent MinIO setup: buckets, versioning, lifecycle rules, IAM policies, Keycloak OpenID.
# Runs in the minio-setup Job; every value it needs comes from its environment or /config.
set -eu
mc alias set platform "$MINIO_ENDPOINT" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null

if ! mc ilm tier info platform COLD >/dev/null 2>&1; then
  echo "MinIO tier COLD is missing: create it first (deploy/README.md, step 3)" >&2
  exit 1
fi

for bucket in $ICEBERG_BUCKETS; do
  mc mb --ignore-existing "platform/$bucket"
  mc version enable "platform/$bucket"
  mc ilm import "platform/$bucket" < /config/lifecycle-iceberg.json
done
for bucket in $LOG_BUCKETS; do
  mc mb --ignore-existing "platform/$bucket"
  mc ilm import "platform/$bucket" < /config/lifecycle-logs.json
done
mc mb --ignore-existing platform/backups
mc version enable platform/backups
mc ilm import platform/backups < /config/lifecycle-backups.json

for policy in data-engineer data-analyst data-scientist platform-admin lakehouse-service backup-writer dagster-compute-logs airbyte-storage; do
  mc admin policy create platform "$policy" "/config/policy-$policy.json"
done

# Keycloak users get the MinIO policies named like their Keycloak groups (claim "groups").
mc idp openid add platform keycloak \
  config_url="$MINIO_OIDC_CONFIG_URL" \
  client_id="$MINIO_OIDC_CLIENT_ID" \
  client_secret="$MINIO_OIDC_CLIENT_SECRET" \
  claim_name=groups \
  scopes=openid,profile,email,groups \
  redirect_uri="$MINIO_OIDC_REDIRECT_URI" 2>/dev/null \
  || echo "OpenID provider already configured"
echo "MinIO setup done"
