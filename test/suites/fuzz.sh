#!/usr/bin/env bash
# Fuzzing harnesses (docs/fuzzing.md): builds every harness under fuzz/ and
# replays its saved corpus under ASan and UBSan; fails on any crash,
# sanitizer report, leak or missing corpus.  A harness is a file
# fuzz/DIR/NAME.c that defines LLVMFuzzerTestOneInput; `make -C fuzz/DIR`
# builds it as fuzz/build/NAME; its corpus is fuzz/corpus/NAME.  When
# fuzz/DIR/compare-NAME.py exists, it runs too, against a private cluster
# with voltpay installed, and must exit 0 (it checks the harness's verdicts
# against the server's, so that the code fuzzed is the code that runs).
set -euo pipefail
cd "$(dirname "$0")/../.."

failures=0
fail() { echo "not ok - $*"; failures=$((failures + 1)); }
pass() { echo "ok - $*"; }

for mk in fuzz/*/Makefile; do
	dir=$(dirname "$mk")
	if make -s -C "$dir" >"/tmp/voltpay-fuzz-build.$$" 2>&1; then
		pass "build $dir"
	else
		fail "build $dir"; tail -30 "/tmp/voltpay-fuzz-build.$$"
	fi
	rm -f "/tmp/voltpay-fuzz-build.$$"
done

harnesses=()
for src in fuzz/*/*.c; do
	grep -q LLVMFuzzerTestOneInput "$src" && harnesses+=("$src")
done
[ ${#harnesses[@]} -gt 0 ] || fail "no harness found under fuzz/"

need_cluster=0
for src in "${harnesses[@]}"; do
	name=$(basename "$src" .c)
	[ -e "$(dirname "$src")/compare-$name.py" ] && need_cluster=1
done
if [ "$need_cluster" = 1 ]; then
	. test/lib/pgcluster.sh
	vp_pg_start
	psql -XqAt -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION voltpay CASCADE' >/dev/null
fi

for src in "${harnesses[@]}"; do
	name=$(basename "$src" .c)
	bin=fuzz/build/$name
	corpus=fuzz/corpus/$name
	if [ ! -x "$bin" ]; then fail "$name: $bin was not built"; continue; fi
	n=$(find "$corpus" -type f 2>/dev/null | wc -l)
	if [ "$n" -eq 0 ]; then fail "$name: no corpus in $corpus"; continue; fi
	log=$(mktemp)
	start=$(date +%s%N)
	# -runs=0: execute every corpus input once, no fuzzing.
	if "$bin" -runs=0 "$corpus" >"$log" 2>&1 &&
		! grep -qE 'ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|runtime error:|==ERROR' "$log"; then
		pass "$name: $n corpus inputs replayed, no crash or sanitizer report ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
	else
		fail "$name: replay of $corpus"; grep -v '^\(Running\|Executed\):' "$log" | tail -40
	fi
	rm -f "$log"
	cmp=$(dirname "$src")/compare-$name.py
	if [ -e "$cmp" ]; then
		if out=$(python3 "$cmp" "$bin" "$corpus" 2>&1); then
			pass "$name: $(tail -1 <<<"$out")"
		else
			fail "$name: harness and server disagree"; echo "$out" | tail -25
		fi
	fi
done

echo "# fuzz: ${#harnesses[@]} harnesses, $failures failed"
[ "$failures" -eq 0 ]
