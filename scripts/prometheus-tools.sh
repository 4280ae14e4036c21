#!/usr/bin/env bash
# Build Prometheus' promtool and Alertmanager's amtool, pinned by version, into .tools/bin:
# tests/deploy runs `promtool test rules` on every alert rule and `amtool check-config` on the
# Alertmanager configuration. From the Go module proxy with the machine's Go; a binary already at
# the pinned version is kept, so a warm call takes a fraction of a second. A cold one takes
# minutes: .ci/run starts it first, in the background, and waits for it before the tests.
#
#   scripts/prometheus-tools.sh          build what is missing or at another version
set -euo pipefail
cd "$(dirname "$0")/.."

PROMETHEUS_MODULE_VERSION=v0.316.0   # Prometheus 3.16.0 (its Go module tags are v0.3MM.P)
PROMETHEUS_VERSION=3.16.0
ALERTMANAGER_VERSION=0.35.0
BIN="$PWD/.tools/bin"

say() { echo "prometheus-tools: $*" >&2; }

has_version() {  # tool, version: whether .tools/bin/<tool> reports that version
    [[ -x "$BIN/$1" ]] && "$BIN/$1" --version 2>&1 | grep -q "version $2"
}

build() {  # package@version, the version string printed by --version, extra go flags
    local package=$1 version=$2
    shift 2
    local name=${package%@*}
    name=${name##*/}
    if has_version "$name" "$version"; then
        return
    fi
    if ! command -v go >/dev/null 2>&1; then
        say "go is not installed: cannot build $name (the deploy/ tests that need it skip, or fail under CI=true)"
        return 1
    fi
    say "building $name $version (a few minutes the first time)"
    mkdir -p "$BIN"
    # The tools print their version from ldflags, as their release builds do.
    GOBIN="$BIN" GOFLAGS=-buildvcs=false go install -trimpath "$@" \
        -ldflags "-s -w -X github.com/prometheus/common/version.Version=$version" "$package"
    has_version "$name" "$version" || { say "$name does not report version $version"; return 1; }
}

# The rule tests and checks need no service discovery: remove_all_sd (Prometheus 3.10+) leaves
# out the Kubernetes and cloud providers, which halves a cold build (about 4 CPU-minutes instead
# of 8 for both tools, measured with empty Go caches).
build "github.com/prometheus/prometheus/cmd/promtool@$PROMETHEUS_MODULE_VERSION" "$PROMETHEUS_VERSION" \
    -tags remove_all_sd
build "github.com/prometheus/alertmanager/cmd/amtool@v$ALERTMANAGER_VERSION" "$ALERTMANAGER_VERSION"
