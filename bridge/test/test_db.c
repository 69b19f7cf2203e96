/*
 * test_db.c
 *	  The database layer's decisions (db.c): the class of a failure from
 *	  its SQLSTATE (retry, quarantine the message, or stop), and when an
 *	  apply that hears nothing from its connection gives it up
 *	  (--db-stall-timeout).
 */
#include "db.h"
#include "unit.h"

int
main(void)
{
	/* vb_db_classify: transient (retry), poison (bisect, quarantine), fatal */
	is_int(vb_db_classify("08006"), VB_TRANSIENT, "connection failure: retry");
	is_int(vb_db_classify("40001"), VB_TRANSIENT, "serialization failure: retry");
	is_int(vb_db_classify("40P01"), VB_TRANSIENT, "deadlock: retry");
	is_int(vb_db_classify("53300"), VB_TRANSIENT, "too many connections: retry");
	is_int(vb_db_classify("57P01"), VB_TRANSIENT, "admin shutdown (a terminated backend): retry");
	is_int(vb_db_classify("55P03"), VB_TRANSIENT, "lock not available: retry");
	is_int(vb_db_classify("25P02"), VB_TRANSIENT, "in failed transaction: retry");
	is_int(vb_db_classify("28P01"), VB_FATAL, "password refused: stop");
	is_int(vb_db_classify("3D000"), VB_FATAL, "no such database: stop");
	is_int(vb_db_classify("42883"), VB_FATAL, "no such function (extension missing): stop");
	is_int(vb_db_classify("42501"), VB_FATAL, "permission denied: stop");
	is_int(vb_db_classify("22P02"), VB_POISON, "invalid text representation: the message");
	is_int(vb_db_classify("23505"), VB_POISON, "unique violation: the message");
	is_int(vb_db_classify("P0001"), VB_POISON, "raise_exception (a trigger's): the message");
	is_int(vb_db_classify("XX000"), VB_POISON, "internal error: the message, bisected");
	is_int(vb_db_classify(NULL), VB_TRANSIENT, "no SQLSTATE: the connection is in doubt, retry");
	is_int(vb_db_classify("080"), VB_TRANSIENT, "malformed SQLSTATE: retry");

	/* vb_db_stalled: nothing heard for stall_ms (0: wait for ever) */
	ok(!vb_db_stalled(10000, 10000, 60000), "a result just now: waiting");
	ok(!vb_db_stalled(69999, 10000, 60000), "59.999 s of silence: still waiting");
	ok(vb_db_stalled(70000, 10000, 60000), "60 s of silence: give the connection up");
	ok(vb_db_stalled(4000000, 10000, 60000), "an hour of silence: give it up");
	ok(!vb_db_stalled(4000000, 10000, 0), "timeout 0: wait for ever");
	ok(vb_db_stalled(13000, 10000, 3000), "3 s timeout after 3 s");
	return unit_done();
}
