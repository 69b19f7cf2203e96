# The idempotency sweeper in another database than postgres, on a standby
# (where it must do nothing) and after promotion; and its exit with the
# postmaster.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'voltpay'
voltpay.database = 'ledger'
voltpay.sweep_interval = '1s'
timezone = 'UTC'
log_statement = none
});
$primary->start;
# The worker fails to connect until the database exists, then is restarted.
$primary->safe_psql('postgres', 'CREATE DATABASE ledger');
$primary->safe_psql('ledger', 'CREATE EXTENSION voltpay');

my $expired = q{SELECT count(*) FROM voltpay.idempotency
				 WHERE processed_on < current_date - 7};

ok( $primary->poll_query_until(
		'ledger',
		"SELECT count(*) = 1 FROM pg_stat_activity
		  WHERE backend_type = 'voltpay sweeper' AND datname = 'ledger'"),
	'the worker runs in the database named by voltpay.database');

# A standby of a primary whose sweeper is paused.
$primary->append_conf('postgresql.conf', "voltpay.sweep_interval = '1h'");
$primary->reload;
ok( $primary->poll_query_until(
		'ledger',
		"SELECT next_run > now() + interval '55 min' FROM voltpay.sweep_status"),
	'primary sweeper paused');
$primary->safe_psql('ledger',
	"INSERT INTO voltpay.idempotency (message_id, processed_on, payload_hash)
	 SELECT gen_random_uuid(), current_date - 30, '\\x00' FROM generate_series(1, 1000)");
$primary->backup('backup');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
# Once promoted, the standby sweeps every second.
$standby->append_conf('postgresql.conf', "voltpay.sweep_interval = '1s'");
$standby->start;
$primary->wait_for_catchup($standby);

sleep 3;
is( $standby->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'voltpay sweeper'"
	),
	'0',
	'no sweeper runs on a standby');
ok(!$standby->log_contains(qr/voltpay sweeper started/),
	'the standby never started the worker');
is($standby->safe_psql('ledger', $expired), '1000',
	'the standby still has the expired rows');

$standby->promote;
ok($standby->poll_query_until('ledger', "SELECT ($expired) = 0"),
	'once promoted, the standby sweeps');
$standby->wait_for_log(
	qr/voltpay sweeper: deleted 1000 idempotency rows processed before/);
pass('and logs the run');

# The worker exits with the postmaster.
my $pid = $standby->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'voltpay sweeper'");
ok($pid > 0, 'promoted standby has a worker');
$standby->kill9;
my $alive = 1;
for (my $i = 0; $i < 100 && $alive; $i++)
{
	$alive = kill(0, $pid);
	usleep(100_000) if $alive;
}
ok(!$alive, 'the worker exits when the postmaster dies');

is($primary->safe_psql('ledger', $expired), '1000',
	'the paused primary kept its rows');
$primary->stop;
done_testing();
