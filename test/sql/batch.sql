-- A realistic batch as the bridge sends it: user-visible results, exactly.
CREATE EXTENSION voltpay;
SET timezone = 'UTC';

CREATE TEMP TABLE batch (ord int, k text, v text, part int, off bigint);
INSERT INTO batch VALUES
(1, 'acc-100', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000001","payment_id":"5d1f0000-0000-4000-8000-000000000001","account_id":"acc-100","amount":"250.00","currency":"EUR","debtor":{"name":"Maria Schmidt","iban":"DE89 3704 0044 0532 0130 00","bic":"cobadeffxxx"},"creditor":{"name":"Jean Dupont","iban":"FR1420041010050500013M02606"},"remittance_info":"Rent November","customer_email":"maria@example.de","created_at":"2026-11-24T08:15:00+01:00"}', 0, 100),
(2, 'acc-200', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000002","payment_id":"5d1f0000-0000-4000-8000-000000000002","account_id":"acc-200","amount":1999,"currency":"JPY","debtor":{"name":"Yuki Tanaka","iban":"GB82WEST12345698765432"},"creditor":{"name":"Shop Ltd","iban":"NL91ABNA0417164300","bic":"ABNANL2A"},"created_at":"2026-11-24T07:00:00Z"}', 1, 50),
(3, 'acc-100', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000003","payment_id":"5d1f0000-0000-4000-8000-000000000003","account_id":"acc-100","amount":"10.999","currency":"EUR","debtor":{"name":"Maria Schmidt","iban":"DE89370400440532013000"},"creditor":{"name":"Jean Dupont","iban":"FR1420041010050500013M02606"},"created_at":"2026-11-24T08:16:00+01:00"}', 0, 101),
(4, 'acc-300', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000004","payment_id":"5d1f0000-0000-4000-8000-000000000004","account_id":"acc-300","amount":"5.00","currency":"EUR","debtor":{"name":"A","iban":"DE89370400440532013001"},"creditor":{"name":"B","iban":"FR1420041010050500013M02606"},"created_at":"2026-11-24T09:00:00Z"}', 2, 7),
(5, 'acc-100', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000001","payment_id":"5d1f0000-0000-4000-8000-000000000001","account_id":"acc-100","amount":"250.00","currency":"EUR","debtor":{"name":"Maria Schmidt","iban":"DE89 3704 0044 0532 0130 00","bic":"cobadeffxxx"},"creditor":{"name":"Jean Dupont","iban":"FR1420041010050500013M02606"},"remittance_info":"Rent November","customer_email":"maria@example.de","created_at":"2026-11-24T08:15:00+01:00"}', 0, 102),
(6, 'acc-400', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000006"', 3, 1),
(7, 'acc-500', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000007","payment_id":"5d1f0000-0000-4000-8000-000000000007","account_id":"acc-501","amount":"1.00","currency":"USD","debtor":{"name":"C","iban":"DE89370400440532013000"},"creditor":{"name":"D","iban":"FR1420041010050500013M02606"},"created_at":"2026-11-24T09:00:00Z"}', 4, 9),
(8, 'acc-600', '{"message_id":"0b7e2a7c-0000-4000-8000-000000000008","payment_id":"5d1f0000-0000-4000-8000-000000000008","account_id":"acc-600","amount":"1.00","currency":"XXY","debtor":{"name":"E","iban":"DE89370400440532013000"},"creditor":{"name":"F","iban":"FR1420041010050500013M02606"},"created_at":"2026-11-24T09:00:00Z"}', 5, 3);

SELECT ordinal, message_id, status, reason, detail
  FROM voltpay.apply_payment_batch(
	(SELECT array_agg(k ORDER BY ord) FROM batch),
	(SELECT array_agg(convert_to(v, 'UTF8') ORDER BY ord) FROM batch),
	'payment_writer_topic',
	(SELECT array_agg(part ORDER BY ord) FROM batch),
	(SELECT array_agg(off ORDER BY ord) FROM batch));

SELECT message_id, account_id, amount, currency, created_at, debtor_name, debtor_iban, debtor_bic,
	   creditor_name, creditor_iban, creditor_bic, remittance_info, customer_email
  FROM voltpay.payments ORDER BY src_partition, src_offset;

SELECT message_id, reason, "offset", partition FROM voltpay.rejected_messages ORDER BY partition, "offset";

SELECT kind, event_key, headers->>'event' AS event, headers->>'voltpay-reason' AS reason
  FROM voltpay.outbox ORDER BY event_id;

SELECT partition, next_offset, applied, duplicate, rejected FROM voltpay.partition_status ORDER BY partition;

-- The same batch again: all duplicates by position, nothing new stored.
SELECT status, count(*)
  FROM voltpay.apply_payment_batch(
	(SELECT array_agg(k ORDER BY ord) FROM batch),
	(SELECT array_agg(convert_to(v, 'UTF8') ORDER BY ord) FROM batch),
	'payment_writer_topic',
	(SELECT array_agg(part ORDER BY ord) FROM batch),
	(SELECT array_agg(off ORDER BY ord) FROM batch))
 GROUP BY status;
SELECT (SELECT count(*) FROM voltpay.payments) AS payments,
	   (SELECT count(*) FROM voltpay.rejected_messages) AS rejected,
	   (SELECT count(*) FROM voltpay.outbox) AS events;

DROP EXTENSION voltpay;
