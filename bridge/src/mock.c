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
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "config.h"
#include "log.h"
#include "mock.h"

#define MOCK_BROKERS		5
#define MOCK_PARTITIONS		100
#define MOCK_REPLICATION	2

struct VbMock
{
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *cluster;
};

/*
 * vb_mock_start
 *	  Starts the cluster and creates the topics (input, read, e-mail,
 *	  dead letter); *bootstraps gets its bootstrap servers (valid until
 *	  vb_mock_stop()).
 */
VbStatus
vb_mock_start(const char *const topics[4], VbMock **out, const char **bootstraps,
			  VbError *err)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	VbMock	   *mock = vb_xcalloc(1, sizeof(VbMock));
	char		errstr[512];

	*out = NULL;
	/*
	 * The mock brokers' sockets take the handle's socket settings: without
	 * socket.nagle.disable their last replies of a burst wait ~40 ms for
	 * delayed ACKs (docs/bench-bridge.md).
	 */
	if (vb_kconf_set(conf, "client.id", "voltpay-bridge-mock", err) != VB_OK ||
		vb_kconf_set(conf, "log_level", "4", err) != VB_OK ||
		vb_kconf_set(conf, "socket.nagle.disable", "true", err) != VB_OK)
	{
		rd_kafka_conf_destroy(conf);
		free(mock);
		return VB_FATAL;
	}
	rd_kafka_conf_set_log_cb(conf, vb_log_rdkafka);
	mock->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (!mock->rk)
	{
		rd_kafka_conf_destroy(conf);
		free(mock);
		return vb_error_set(err, VB_FATAL, NULL, "%s", errstr);
	}
	conf = NULL;				/* now owned by mock->rk */
	mock->cluster = rd_kafka_mock_cluster_new(mock->rk, MOCK_BROKERS);
	if (!mock->cluster)
	{
		vb_mock_stop(mock);
		return vb_error_set(err, VB_FATAL, NULL, "cannot start the mock Kafka cluster");
	}
	for (int i = 0; i < 4; i++)
	{
		bool		dup = false;
		rd_kafka_resp_err_t kerr;

		for (int j = 0; j < i; j++)
			dup = dup || strcmp(topics[i], topics[j]) == 0;
		if (dup)
			continue;
		kerr = rd_kafka_mock_topic_create(mock->cluster, topics[i], MOCK_PARTITIONS,
										  MOCK_REPLICATION);
		if (kerr)
		{
			vb_mock_stop(mock);
			return vb_error_set(err, VB_FATAL, NULL,
								"cannot create topic %s on the mock cluster: %s",
								topics[i], rd_kafka_err2str(kerr));
		}
	}
	*bootstraps = rd_kafka_mock_cluster_bootstraps(mock->cluster);
	vb_info("embedded mock Kafka cluster: %d brokers at %s; topics %s, %s, %s, %s "
			"with %d partitions, replication factor %d",
			MOCK_BROKERS, *bootstraps, topics[0], topics[1], topics[2], topics[3],
			MOCK_PARTITIONS, MOCK_REPLICATION);
	*out = mock;
	return VB_OK;
}

/*
 * vb_mock_stop
 *	  Stops the cluster (after the bridge's clients are gone).
 */
void
vb_mock_stop(VbMock *mock)
{
	if (!mock)
		return;
	if (mock->cluster)
		rd_kafka_mock_cluster_destroy(mock->cluster);
	if (mock->rk)
		rd_kafka_destroy(mock->rk);
	free(mock);
}
