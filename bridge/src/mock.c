/*-------------------------------------------------------------------------
 *
 * mock.c
 *	  --embedded-kafka: librdkafka's mock cluster inside the bridge, on a
 *	  dedicated producer handle: 5 brokers; the input, read, e-mail and
 *	  dead-letter topics with 100 partitions and replication factor 2, as
 *	  in production.
 *
 * The mock keeps only about 5 MiB per partition and lives as long as the
 * process: it is for demos and tests, not for data that matters.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "bridge.h"

#include <librdkafka/rdkafka_mock.h>

#define MOCK_BROKERS		5
#define MOCK_PARTITIONS		100
#define MOCK_REPLICATION	2

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock_cluster;

/*
 * vb_mock_start
 *	  Starts the cluster and creates the topics; returns its bootstrap
 *	  servers, or NULL with errstr set.
 */
const char *
vb_mock_start(char *errstr, size_t size)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	const char *topics[4] = {vb_conf.input_topic, vb_conf.read_topic,
	vb_conf.email_topic, vb_conf.dead_letter_topic};

	/*
	 * The mock brokers' sockets take the handle's socket settings: without
	 * socket.nagle.disable their last replies of a burst wait ~40 ms for
	 * delayed ACKs (docs/bench-bridge.md).
	 */
	if (!vb_conf_set(conf, "client.id", "voltpay-bridge-mock", errstr, size) ||
		!vb_conf_set(conf, "log_level", "4", errstr, size) ||
		!vb_conf_set(conf, "socket.nagle.disable", "true", errstr, size))
	{
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rd_kafka_conf_set_log_cb(conf, vb_log_rdkafka);
	mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, size);
	if (!mock_rk)
	{
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	conf = NULL;				/* now owned by mock_rk */
	mock_cluster = rd_kafka_mock_cluster_new(mock_rk, MOCK_BROKERS);
	if (!mock_cluster)
	{
		snprintf(errstr, size, "cannot start the mock Kafka cluster");
		vb_mock_stop();
		return NULL;
	}
	for (int i = 0; i < 4; i++)
	{
		bool		dup = false;
		rd_kafka_resp_err_t err;

		for (int j = 0; j < i; j++)
			dup = dup || strcmp(topics[i], topics[j]) == 0;
		if (dup)
			continue;
		err = rd_kafka_mock_topic_create(mock_cluster, topics[i], MOCK_PARTITIONS,
										 MOCK_REPLICATION);
		if (err)
		{
			snprintf(errstr, size, "cannot create topic %s on the mock cluster: %s",
					 topics[i], rd_kafka_err2str(err));
			vb_mock_stop();
			return NULL;
		}
	}
	vb_info("embedded mock Kafka cluster: %d brokers at %s; topics %s, %s, %s, %s "
			"with %d partitions, replication factor %d",
			MOCK_BROKERS, rd_kafka_mock_cluster_bootstraps(mock_cluster),
			topics[0], topics[1], topics[2], topics[3], MOCK_PARTITIONS, MOCK_REPLICATION);
	return rd_kafka_mock_cluster_bootstraps(mock_cluster);
}

/*
 * vb_mock_stop
 *	  Stops the cluster (after the bridge's clients are gone).
 */
void
vb_mock_stop(void)
{
	if (mock_cluster)
		rd_kafka_mock_cluster_destroy(mock_cluster);
	mock_cluster = NULL;
	if (mock_rk)
		rd_kafka_destroy(mock_rk);
	mock_rk = NULL;
}
