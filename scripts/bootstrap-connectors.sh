#!/usr/bin/env bash
# Create the isolated Airbyte environment of the embedded raw layer from its locked file:
#   .venvs/source-faker the source-faker connector (airbyte-cdk<7)
# It cannot share the main env; the raw assets run it and read its output themselves. Idempotent: an env whose lock file has not
# changed since it was built is left alone, so a warm run takes well under a second.
#
#   scripts/bootstrap-connectors.sh            build or refresh the envs (UV=, PYTHON= optional)
#   scripts/bootstrap-connectors.sh --compile  re-lock requirements/*.txt from *.in, then build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REQ="$ROOT/requirements"
VENVS="$ROOT/.venvs"
PYTHON_VERSION="3.11"  # the locks are compiled for it
INTERPRETER="${PYTHON:-$PYTHON_VERSION}"  # the Makefile passes its python3.11
ENVS=(source-faker)

find_uv() {
    if [[ -n "${UV:-}" ]]; then  # absolute, since --compile runs it from requirements/
        if [[ "$UV" == */* ]]; then realpath "$UV"; else command -v "$UV"; fi
        return
    fi
    for candidate in "$(command -v uv || true)" "$ROOT/.tools/bin/uv"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then echo "$candidate"; return; fi
    done
    echo "bootstrap-connectors: uv not found; install it (pip install uv) or set UV=/path/to/uv" >&2
    exit 1
}
UV="$(find_uv)"

if [[ "${1:-}" == "--compile" ]]; then
    for env in "${ENVS[@]}"; do
        (cd "$REQ" && "$UV" pip compile --quiet --python-version "$PYTHON_VERSION" \
            --generate-hashes "$env.in" -o "$env.txt")
    done
fi

for env in "${ENVS[@]}"; do
    lock="$REQ/$env.txt"
    venv="$VENVS/$env"
    stamp="$venv/.lock-sha256"
    want="$(sha256sum "$lock" | cut -d' ' -f1)"
    if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        echo "bootstrap-connectors: $env up to date"
        continue
    fi
    echo "bootstrap-connectors: building .venvs/$env from requirements/$env.txt"
    "$UV" venv --quiet --allow-existing --python "$INTERPRETER" "$venv"
    # Bytecode compiled at install: these envs start a fresh interpreter per extraction, and
    # with PYTHONDONTWRITEBYTECODE set nothing is cached later (import airbyte: 20 s -> 9 s).
    "$UV" pip sync --quiet --require-hashes --compile-bytecode \
        --python "$venv/bin/python" "$lock"
    echo "$want" > "$stamp"
done
