#!/usr/bin/env bash
# make bench: every benchmark, one after the other (each prints its table and
# writes bench/results/*.json).
set -euo pipefail
cd "$(dirname "$0")/.."
for b in apply apply_cpu growth sweep bridge memory peer; do
	if [ -x "bench/$b.sh" ] || [ -f "bench/$b.sh" ]; then
		echo "=== bench $b"
		bash "bench/$b.sh"
	fi
done
