#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment of the test tools (the FHIR validator, and
# the SMTP and webhook receivers of the alert tests) and prints its Python, for
# AFTERCARE_FHIR_PYTHON. For .ci/run:
#
#   export AFTERCARE_FHIR_PYTHON=$(scripts/fhir-venv.sh)
#   cargo test -p aftercare-fhir -p aftercare-web
#
# Installs the pinned versions of requirements-fhir.txt from PyPI; a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${FHIR_VENV:-.venv-fhir}
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-fhir.txt \
  -r requirements-receivers.txt >&2
"$venv/bin/python" -c 'import fhir.resources.R4B, aiosmtpd' >&2
echo "$PWD/$venv/bin/python"
