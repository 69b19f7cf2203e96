# The idempotency sweeper worker on one node: waiting for the extension,
# settings, what it deletes, SIGHUP, errors, restarts, a sweep racing
# ingest, and a fast shutdown in the middle of a sweep.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sweeper');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'voltpay'
voltpay.sweep_interval = '1s'
voltpay.sweep_lock_timeout = '500ms'
voltpay.sweep_step_delay = '10ms'
timezone = 'UTC'
log_statement = none
});
$node->start;

# Helpers.
sub sql { return $node->safe_psql('postgres', shift); }

sub worker_pid
{
	return sql(
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'voltpay sweeper'"
	);
}

sub set_and_reload
{
	my ($setting, $value) = @_;
	sql("ALTER SYSTEM SET $setting = '$value'");
	$node->reload;
}

sub count_log
{
	my ($re) = @_;
	my $log = slurp_file($node->logfile);
	my @m = $log =~ /$re/g;
	return scalar @m;
}

# Adds $n rows processed $age days ago.
sub add_rows
{
	my ($age, $n) = @_;
	sql("INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
		 SELECT gen_random_uuid(), current_date - $age, '\\x00'
		   FROM generate_series(1, $n)");
}

sub aged_rows
{
	return sql(
		"SELECT count(*) FROM voltpay.idempotency WHERE processed_on < current_date - 7"
	);
}

#
# Before CREATE EXTENSION: the worker runs, waits, and says so once.
#
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE backend_type = 'voltpay sweeper' AND datname = 'postgres'"),
	'worker shows in pg_stat_activity with backend type "voltpay sweeper"');
$node->wait_for_log(qr/extension "voltpay" is not installed in database "postgres"/);
sleep 3;    # three more checks at a 1 s interval
is(count_log(qr/extension "voltpay" is not installed/),
	1, 'a missing extension is logged once, not at every check');

#
# Settings.
#
is(sql('SHOW voltpay.idempotency_retention'), '7d', 'retention defaults to 7 days');
is(sql('SHOW voltpay.sweep_batch_size'),      '10000', 'batch size default');
is(sql('SHOW voltpay.database'),              'postgres', 'database default');
my ($ret, $out, $err) = $node->psql('postgres',
	"ALTER SYSTEM SET voltpay.idempotency_retention = '12h'");
isnt($ret, 0, 'a retention of 12h is refused');
like(
	$err,
	qr/invalid value for parameter "voltpay.idempotency_retention": 720.*DETAIL:  The idempotency retention must be at least one day/s,
	'the refusal explains the one-day minimum');
($ret, $out, $err) = $node->psql('postgres',
	"SET voltpay.idempotency_retention = '30d'");
like($err, qr/cannot be changed now/, 'retention is not a session setting');
($ret, $out, $err) = $node->psql('postgres', "SET voltpay.sweep_intervall = 1");
like($err, qr/"voltpay" is a reserved prefix/, 'the voltpay prefix is reserved');

#
# Expired rows go, young rows stay.
#
sql('CREATE EXTENSION voltpay');
sql("INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
	 SELECT gen_random_uuid(), current_date - age, '\\x00'
	   FROM unnest(ARRAY[0, 1, 6, 7, 8, 30]) AS age, generate_series(1, 100)");
$node->wait_for_log(qr/extension "voltpay" found in database "postgres"/);
ok( $node->poll_query_until(
		'postgres',
		"SELECT string_agg(DISTINCT (current_date - processed_on)::text, ',')
		   FROM voltpay.idempotency",
		'0,1,6,7'),
	'rows processed more than 7 days ago are deleted, the others stay');
is(sql('SELECT count(*) FROM voltpay.idempotency'), '400', 'young rows all stay');
$node->wait_for_log(
	qr/voltpay sweeper: deleted 200 idempotency rows processed before \d{4}-\d\d-\d\d in [\d.]+ s, steps: 1/
);
pass('the run logs one LOG line with its counts');
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'waiting' AND last_error IS NULL
			AND last_end >= last_start AND last_success = last_end
			AND cutoff = current_date - 7
			AND next_run = last_start + interval '1 s'
			AND worker_pid = (SELECT pid FROM pg_stat_activity
							   WHERE backend_type = 'voltpay sweeper')
		   FROM voltpay.sweep_status"),
	'sweep_status shows the last run and the next');

#
# SIGHUP: retention and interval.
#
set_and_reload('voltpay.idempotency_retention', '2d');
ok( $node->poll_query_until(
		'postgres',
		"SELECT string_agg(DISTINCT (current_date - processed_on)::text, ',')
		   FROM voltpay.idempotency",
		'0,1'),
	'a shorter retention applies after a reload');
sql('ALTER SYSTEM RESET voltpay.idempotency_retention');

set_and_reload('voltpay.sweep_interval', '1h');
ok( $node->poll_query_until(
		'postgres',
		"SELECT next_run > now() + interval '55 min' FROM voltpay.sweep_status"),
	'SIGHUP moves the next run to one hour after the last');
add_rows(10, 50);
sleep 3;
is(aged_rows(), '50', 'no sweep while the interval is one hour');
set_and_reload('voltpay.sweep_interval', '1s');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM voltpay.idempotency WHERE processed_on < current_date - 7'),
	'back to a 1 s interval, the rows are swept');

set_and_reload('voltpay.sweep_interval', '0');
ok( $node->poll_query_until(
		'postgres', "SELECT next_run IS NULL FROM voltpay.sweep_status"),
	'interval 0 disables the sweeper');
add_rows(9, 10);
sleep 2;
is(aged_rows(), '10', 'no sweep while disabled');

#
# sweep_idempotency(): for voltpay_dba, not for voltpay_writer.
#
sql('CREATE ROLE dba LOGIN IN ROLE voltpay_dba');
sql('CREATE ROLE bridge LOGIN IN ROLE voltpay_writer');
is( $node->safe_psql(
		'postgres', 'SELECT voltpay.sweep_idempotency()',
		extra_params => [ '-U', 'dba' ]),
	'10',
	'voltpay_dba runs sweep_idempotency(), which returns the rows deleted');
is(aged_rows(), '0', 'sweep_idempotency() deleted them');
($ret, $out, $err) = $node->psql(
	'postgres', 'SELECT voltpay.sweep_idempotency()',
	extra_params => [ '-U', 'bridge' ]);
like($err, qr/permission denied for function sweep_idempotency/,
	'voltpay_writer may not run sweep_idempotency()');
is( $node->safe_psql(
		'postgres', 'SELECT state FROM voltpay.sweep_status',
		extra_params => [ '-U', 'dba' ]),
	'waiting',
	'voltpay_dba reads sweep_status');
$node->wait_for_log(qr/voltpay\.sweep_idempotency\(\): deleted 10 idempotency rows/);
pass('sweep_idempotency() logs its counts too');

#
# An ERROR (lock timeout on a locked table): the worker records it, exits,
# is restarted and carries on; the cluster does not restart.
#
set_and_reload('voltpay.sweep_interval', '1s');
my $old_pid = worker_pid();
add_rows(20, 30);
my $locker = $node->background_psql('postgres');
$locker->query_safe(
	'BEGIN; LOCK TABLE voltpay.idempotency IN ACCESS EXCLUSIVE MODE');
$node->wait_for_log(qr/ERROR:  canceling statement due to lock timeout/);
$node->wait_for_log(qr/voltpay sweeper: exiting after an error; it restarts in 10 s/);
ok( $node->poll_query_until(
		'postgres',
		"SELECT last_error = 'canceling statement due to lock timeout'
		        AND last_end IS NOT NULL AND last_success < last_start
		   FROM voltpay.sweep_status"),
	'sweep_status shows the error of the failed run');
$locker->query_safe('ROLLBACK');
is($locker->query_safe('SELECT 1'), '1',
	'other sessions survive the worker error (no crash restart)');
$locker->quit;
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM voltpay.idempotency
					  WHERE processed_on < current_date - 7"),
	'the restarted worker carries on and sweeps');
isnt(worker_pid(), $old_pid, 'the worker was restarted');
ok( $node->poll_query_until(
		'postgres', "SELECT last_error IS NULL FROM voltpay.sweep_status"),
	'a successful run clears the error');

#
# Terminated, the worker is started again.
#
$old_pid = worker_pid();
sql("SELECT pg_terminate_backend($old_pid)");
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE backend_type = 'voltpay sweeper' AND pid <> $old_pid"),
	'a terminated worker is restarted');

#
# A sweep of many expired rows while ingest (apply_payment_batch) goes on:
# both finish, every message applied once, every expired row deleted.
#
set_and_reload('voltpay.sweep_interval', '1h');
set_and_reload('voltpay.sweep_batch_size', '1000');
add_rows(30, 200000);
my $applied_before = sql('SELECT count(*) FROM voltpay.payment');
my $young_before = sql(
	'SELECT count(*) FROM voltpay.idempotency WHERE processed_on = current_date');
my $script = "${PostgreSQL::Test::Utils::tmp_check}/ingest.sql";
open my $fh, '>', $script or die "cannot write $script: $!";
print $fh q{
SELECT count(*) FROM voltpay.apply_payment_batch(
	ARRAY(SELECT 'acc-' || (i % 10) FROM generate_series(1, 50) AS i),
	ARRAY(SELECT convert_to(json_build_object(
		'message_id', gen_random_uuid(), 'payment_id', gen_random_uuid(),
		'account_id', 'acc-' || (i % 10), 'amount', '12.50', 'currency', 'EUR',
		'debtor', json_build_object('name', 'Ann', 'iban', 'DE89370400440532013000'),
		'creditor', json_build_object('name', 'Bob', 'iban', 'GB82WEST12345698765432'),
		'created_at', '2026-11-24T10:00:00Z')::text, 'UTF8')
	  FROM generate_series(1, 50) AS i)) AS r
 WHERE r.status = 'applied';
};
close $fh;
my ($pgb_out, $pgb_err);
my $t0 = time();
my $pgbench = IPC::Run::start(
	[
		'pgbench', '-n', '-T', '8', '-c', '2', '-f', $script,
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$pgb_out, '2>', \$pgb_err);
sleep 1;
my $log_offset = -s $node->logfile;
set_and_reload('voltpay.sweep_interval', '1s');
ok( $node->poll_query_until(
		'postgres',
		"SELECT state = 'sweeping' AND rows_deleted > 0 FROM voltpay.sweep_status"
	),
	'the sweep runs');
ok(time() - $t0 < 7.5, 'while ingest runs');
$node->wait_for_log(qr/voltpay sweeper: deleted 200000 idempotency rows/,
	$log_offset);
pass('the sweep of 200000 expired rows finishes');
ok($pgbench->finish, 'ingest finishes without error') or diag($pgb_err);
my ($txns) = $pgb_out =~ /number of transactions actually processed: (\d+)/;
ok($txns > 0, "ingest applied $txns batches of 50");
is(sql('SELECT count(*) FROM voltpay.payment') - $applied_before,
	$txns * 50, 'every message of the ingest is applied once');
is( sql(
		'SELECT count(*) FROM voltpay.idempotency WHERE processed_on = current_date'
	  ) - $young_before,
	$txns * 50,
	'every applied message keeps its idempotency row');
is(sql('SELECT count(*) FROM voltpay.rejected_message'), '0', 'nothing rejected');
is(aged_rows(), '0', 'every expired row is deleted');
note "ingest: " . ($pgb_out =~ /(tps = [\d.]+)/)[0];

#
# pg_ctl stop -m fast in the middle of a long sweep is not delayed.
#
set_and_reload('voltpay.sweep_interval', '1h');
add_rows(30, 50000);
sql("ALTER SYSTEM SET voltpay.sweep_batch_size = 100");
sql("ALTER SYSTEM SET voltpay.sweep_step_delay = '50ms'");
set_and_reload('voltpay.sweep_interval', '1s');
ok( $node->poll_query_until(
		'postgres',
		"SELECT state = 'sweeping' AND rows_deleted > 0 FROM voltpay.sweep_status"
	),
	'a slow sweep (about 25 s) is running');
# Settings for after the restart, not reloaded now.
sql('ALTER SYSTEM RESET voltpay.sweep_batch_size');
sql('ALTER SYSTEM RESET voltpay.sweep_step_delay');
$log_offset = -s $node->logfile;
$t0 = time();
$node->stop('fast');
my $stop_s = time() - $t0;
ok($stop_s < 5, sprintf('pg_ctl stop -m fast takes %.1f s', $stop_s));
ok( $node->log_contains(
		qr/terminating background worker "voltpay sweeper" due to administrator command/,
		$log_offset),
	'the worker stops on SIGTERM');
$node->start;
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM voltpay.idempotency
					  WHERE processed_on < current_date - 7"),
	'after the restart the worker finishes the sweep');

$node->stop;
done_testing();
