# Sourced by the database benchmarks (bench/apply.sh, bench/growth.sh).

psql() { command psql -XqAt -v ON_ERROR_STOP=1 "$@"; }

# median: the median of the numbers on stdin, one per line
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench_script FUNCTION: a pgbench script whose one transaction is one batch
# of :bs messages of bench.msgs (the next by bench.batch_seq) given to
# FUNCTION(keys, payloads, topic, partitions, offsets), as the bridge does.
bench_script() {
	cat <<EOF2
SELECT nextval('bench.batch_seq') - 1 AS b \gset
SELECT count(*) FROM $1(
	ARRAY(SELECT key FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
	ARRAY(SELECT payload FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
	'bench',
	ARRAY(SELECT part FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i),
	ARRAY(SELECT i::bigint FROM bench.msgs WHERE i > :b * :bs AND i <= (:b + 1) * :bs ORDER BY i));
EOF2
}
