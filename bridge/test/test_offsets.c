/*
 * test_offsets.c
 *	  Where a partition goes back to after a reconnect (offsets.c): the
 *	  database's position when it lost transactions, the log start when it
 *	  lost the partition's whole history, nowhere otherwise.
 */
#include "consumer.h"
#include "unit.h"

int
main(void)
{
	is_int(vb_rewind_to(100, false, 100), RD_KAFKA_OFFSET_INVALID, "same position: stay");
	is_int(vb_rewind_to(100, false, 120), RD_KAFKA_OFFSET_INVALID,
		   "the database ahead (another bridge applied more): stay");
	is_int(vb_rewind_to(100, false, 60), 60, "the database behind (a failover lost 40): back to 60");
	is_int(vb_rewind_to(100, false, 0), 0, "the database at 0: back to 0");
	is_int(vb_rewind_to(100, false, RD_KAFKA_OFFSET_INVALID), RD_KAFKA_OFFSET_BEGINNING,
		   "the database recorded nothing for an applied partition: the log start");
	is_int(vb_rewind_to(-1, false, 50), RD_KAFKA_OFFSET_INVALID,
		   "nothing applied here yet: stay (assigned at the database's position)");
	is_int(vb_rewind_to(-1, false, RD_KAFKA_OFFSET_INVALID), RD_KAFKA_OFFSET_INVALID,
		   "nothing known at all: stay");
	is_int(vb_rewind_to(-1, true, 70), 70,
		   "assigned while the database was away (Kafka's offset): to the database's position");
	is_int(vb_rewind_to(-1, true, RD_KAFKA_OFFSET_INVALID), RD_KAFKA_OFFSET_BEGINNING,
		   "assigned while away, nothing recorded: the log start, not Kafka's committed offset");
	return unit_done();
}
