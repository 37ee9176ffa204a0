#!/bin/sh
# Usage: training/train.sh <stage> [args]   (same as: /usr/bin/python3 training/run.py <stage> [args])
exec "${UNIMIC_PYTHON:-/usr/bin/python3}" "$(dirname "$0")/run.py" "$@"
