-- IBANs of every country of the SWIFT IBAN registry (release 101, 89
-- countries) through voltpay.validate_message(): the registry's own example
-- IBAN of each country is valid, and for every country whose BBAN format
-- has a digit or letter position, the example with a letter put in its
-- first digit position (or a digit in its first letter position) and the
-- check digits recomputed -- so it passes the ISO 7064 mod-97 check, which
-- this file verifies independently -- is invalid_iban, with the position and
-- the registry format in the detail.  GT (4!c20!c) and MD (2!c18!c) allow
-- letters and digits everywhere, so no such mutation exists for them.
BEGIN;
SELECT plan(178);

CREATE FUNCTION pg_temp.msg(iban text) RETURNS bytea LANGUAGE sql AS $$
	SELECT convert_to(jsonb_build_object(
		'message_id', '6f1c2b8e-4c1a-4f7e-9a51-0d2b3c4d5e6f',
		'payment_id', '0b7f3a52-2d4e-4b8a-8c6d-1e2f3a4b5c6d',
		'account_id', 'ACC-1', 'amount', '12.50', 'currency', 'EUR',
		'debtor', jsonb_build_object('name', 'Ann Smith', 'iban', iban),
		'creditor', jsonb_build_object('name', 'Bob Jones', 'iban', 'GB82WEST12345698765432'),
		'created_at', '2026-11-24T10:00:00Z')::text, 'UTF8')
$$;
-- ISO 7064 mod-97-10 of an IBAN, computed here without the extension.
CREATE FUNCTION pg_temp.mod97(iban text) RETURNS integer LANGUAGE sql AS $$
	SELECT (string_agg(CASE WHEN c ~ '[0-9]' THEN c ELSE (ascii(c) - 55)::text END, '' ORDER BY i)::numeric % 97)::integer
	  FROM unnest(string_to_array(substr(iban, 5) || left(iban, 4), NULL)) WITH ORDINALITY AS t(c, i)
$$;
CREATE FUNCTION pg_temp.verdict(iban text) RETURNS text LANGUAGE sql AS $$
	SELECT COALESCE(v.reason || ': ' || v.detail, 'valid')
	  FROM voltpay.validate_message(pg_temp.msg(iban), 'ACC-1') AS v
$$;

CREATE TEMP TABLE registry (country text, example text, bban text, mutation text, detail text);
INSERT INTO registry VALUES
	('AD', 'AD1200012030200359100100', '4!n4!n12!c', 'AD78A0012030200359100100', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of AD (4!n4!n12!c) has a digit.'),
	('AE', 'AE070331234567890123456', '3!n16!n', 'AE33A331234567890123456', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of AE (3!n16!n) has a digit.'),
	('AL', 'AL47212110090000000235698741', '8!n16!c', 'AL76A12110090000000235698741', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of AL (8!n16!c) has a digit.'),
	('AT', 'AT611904300234573201', '5!n11!n', 'AT87A904300234573201', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of AT (5!n11!n) has a digit.'),
	('AZ', 'AZ21NABZ00000000137010001944', '4!a20!c', 'AZ660ABZ00000000137010001944', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of AZ (4!a20!c) has a letter.'),
	('BA', 'BA391290079401028494', '3!n3!n8!n2!n', 'BA65A290079401028494', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of BA (3!n3!n8!n2!n) has a digit.'),
	('BE', 'BE68539007547034', '3!n7!n2!n', 'BE72A39007547034', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of BE (3!n7!n2!n) has a digit.'),
	('BG', 'BG80BNBG96611020345678', '4!a4!n2!n8!c', 'BG07BNBGA6611020345678', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of BG (4!a4!n2!n8!c) has a digit.'),
	('BH', 'BH67BMAG00001299123456', '4!a14!c', 'BH200MAG00001299123456', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of BH (4!a14!c) has a letter.'),
	('BI', 'BI4210000100010000332045181', '5!n5!n11!n2!n', 'BI78A0000100010000332045181', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of BI (5!n5!n11!n2!n) has a digit.'),
	('BR', 'BR1800360305000010009795493C1', '8!n5!n10!n1!a1!c', 'BR54A0360305000010009795493C1', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of BR (8!n5!n10!n1!a1!c) has a digit.'),
	('BY', 'BY13NBRB3600900000002Z00AB00', '4!c4!n16!c', 'BY03NBRBA600900000002Z00AB00', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of BY (4!c4!n16!c) has a digit.'),
	('CH', 'CH9300762011623852957', '5!n12!c', 'CH37A0762011623852957', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of CH (5!n12!c) has a digit.'),
	('CR', 'CR05015202001026284066', '4!n14!n', 'CR27A15202001026284066', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of CR (4!n14!n) has a digit.'),
	('CY', 'CY17002001280000001200527600', '3!n5!n16!c', 'CY29A02001280000001200527600', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of CY (3!n5!n16!c) has a digit.'),
	('CZ', 'CZ6508000000192000145399', '4!n16!n', 'CZ34A8000000192000145399', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of CZ (4!n16!n) has a digit.'),
	('DE', 'DE89370400440532013000', '8!n10!n', 'DE85A70400440532013000', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of DE (8!n10!n) has a digit.'),
	('DJ', 'DJ2100010000000154000100186', '5!n5!n11!n2!n', 'DJ61A0010000000154000100186', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of DJ (5!n5!n11!n2!n) has a digit.'),
	('DK', 'DK5000400440116243', '4!n9!n1!n', 'DK74A0400440116243', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of DK (4!n9!n1!n) has a digit.'),
	('DO', 'DO28BAGR00000001212453611324', '4!c20!n', 'DO12BAGRA0000001212453611324', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of DO (4!c20!n) has a digit.'),
	('EE', 'EE382200221020145685', '2!n14!n', 'EE18A200221020145685', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of EE (2!n14!n) has a digit.'),
	('EG', 'EG380019000500000000263180002', '4!n4!n17!n', 'EG61A019000500000000263180002', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of EG (4!n4!n17!n) has a digit.'),
	('ES', 'ES9121000418450200051332', '4!n4!n1!n1!n10!n', 'ES08A1000418450200051332', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of ES (4!n4!n1!n1!n10!n) has a digit.'),
	('FI', 'FI2112345600000785', '3!n11!n', 'FI62A2345600000785', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of FI (3!n11!n) has a digit.'),
	('FK', 'FK88SC123456789012', '2!a12!n', 'FK62SCA23456789012', 'invalid_iban: Field "debtor.iban" has "A" at position 7 where the IBAN registry''s format of FK (2!a12!n) has a digit.'),
	('FO', 'FO6264600001631634', '4!n9!n1!n', 'FO91A4600001631634', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of FO (4!n9!n1!n) has a digit.'),
	('FR', 'FR1420041010050500013M02606', '5!n5!n11!c2!n', 'FR43A0041010050500013M02606', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of FR (5!n5!n11!c2!n) has a digit.'),
	('GB', 'GB29NWBK60161331926819', '4!a6!n8!n', 'GB76NWBKA0161331926819', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of GB (4!a6!n8!n) has a digit.'),
	('GE', 'GE29NB0000000101904917', '2!a16!n', 'GE46NBA000000101904917', 'invalid_iban: Field "debtor.iban" has "A" at position 7 where the IBAN registry''s format of GE (2!a16!n) has a digit.'),
	('GI', 'GI75NWBK000000007099453', '4!a15!c', 'GI270WBK000000007099453', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of GI (4!a15!c) has a letter.'),
	('GL', 'GL8964710001000206', '4!n9!n1!n', 'GL21A4710001000206', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of GL (4!n9!n1!n) has a digit.'),
	('GR', 'GR1601101250000000012300695', '3!n4!n16!c', 'GR56A1101250000000012300695', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of GR (3!n4!n16!c) has a digit.'),
	('GT', 'GT82TRAJ01020000001210029690', '4!c20!c', NULL, NULL),
	('HN', 'HN88CABF00000000000250005469', '4!a20!n', 'HN72CABFA0000000000250005469', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of HN (4!a20!n) has a digit.'),
	('HR', 'HR1210010051863000160', '7!n10!n', 'HR78A0010051863000160', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of HR (7!n10!n) has a digit.'),
	('HU', 'HU42117730161111101800000000', '3!n4!n1!n15!n1!n', 'HU14A17730161111101800000000', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of HU (3!n4!n1!n15!n1!n) has a digit.'),
	('IE', 'IE29AIBK93115212345678', '4!a6!n8!n', 'IE12AIBKA3115212345678', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of IE (4!a6!n8!n) has a digit.'),
	('IL', 'IL620108000000099999999', '3!n3!n13!n', 'IL88A108000000099999999', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of IL (3!n3!n13!n) has a digit.'),
	('IQ', 'IQ98NBIQ850123456789012', '4!a3!n12!n', 'IQ91NBIQA50123456789012', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of IQ (4!a3!n12!n) has a digit.'),
	('IS', 'IS140159260076545510730339', '4!n2!n6!n10!n', 'IS18A159260076545510730339', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of IS (4!n2!n6!n10!n) has a digit.'),
	('IT', 'IT60X0542811101000000123456', '1!a5!n5!n12!c', 'IT88XA542811101000000123456', 'invalid_iban: Field "debtor.iban" has "A" at position 6 where the IBAN registry''s format of IT (1!a5!n5!n12!c) has a digit.'),
	('JO', 'JO94CBJO0010000000000131000302', '4!a4!n18!c', 'JO06CBJOA010000000000131000302', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of JO (4!a4!n18!c) has a digit.'),
	('KW', 'KW81CBKU0000000000001234560101', '4!a22!c', 'KW460BKU0000000000001234560101', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of KW (4!a22!c) has a letter.'),
	('KZ', 'KZ86125KZT5004100100', '3!n13!c', 'KZ90A25KZT5004100100', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of KZ (3!n13!c) has a digit.'),
	('LB', 'LB62099900000001001901229114', '4!n20!c', 'LB74A99900000001001901229114', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of LB (4!n20!c) has a digit.'),
	('LC', 'LC55HEMM000100010012001200023015', '4!a24!c', 'LC760EMM000100010012001200023015', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of LC (4!a24!c) has a letter.'),
	('LI', 'LI21088100002324013AA', '5!n12!c', 'LI47A88100002324013AA', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of LI (5!n12!c) has a digit.'),
	('LT', 'LT121000011101001000', '5!n11!n', 'LT38A000011101001000', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of LT (5!n11!n) has a digit.'),
	('LU', 'LU280019400644750000', '3!n13!c', 'LU03A019400644750000', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of LU (3!n13!c) has a digit.'),
	('LV', 'LV80BANK0000435195001', '4!a13!c', 'LV850ANK0000435195001', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of LV (4!a13!c) has a letter.'),
	('LY', 'LY83002048000020100120361', '3!n3!n15!n', 'LY64A02048000020100120361', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of LY (3!n3!n15!n) has a digit.'),
	('MC', 'MC5811222000010123456789030', '5!n5!n11!c2!n', 'MC94A1222000010123456789030', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of MC (5!n5!n11!c2!n) has a digit.'),
	('MD', 'MD24AG000225100013104168', '2!c18!c', NULL, NULL),
	('ME', 'ME25505000012345678951', '3!n13!n2!n', 'ME36A05000012345678951', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of ME (3!n13!n2!n) has a digit.'),
	('MK', 'MK07250120000058984', '3!n10!c2!n', 'MK05A50120000058984', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of MK (3!n10!c2!n) has a digit.'),
	('MN', 'MN121234123456789123', '4!n12!n', 'MN38A234123456789123', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of MN (4!n12!n) has a digit.'),
	('MR', 'MR1300020001010000123456753', '5!n5!n11!n2!n', 'MR53A0020001010000123456753', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of MR (5!n5!n11!n2!n) has a digit.'),
	('MT', 'MT84MALT011000012345MTLCAST001S', '4!a5!n18!c', 'MT26MALTA11000012345MTLCAST001S', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of MT (4!a5!n18!c) has a digit.'),
	('MU', 'MU17BOMM0101101030300200000MUR', '4!a2!n2!n12!n3!n3!a', 'MU93BOMMA101101030300200000MUR', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of MU (4!a2!n2!n12!n3!n3!a) has a digit.'),
	('NI', 'NI45BAPR00000013000003558124', '4!a20!n', 'NI62BAPRA0000013000003558124', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of NI (4!a20!n) has a digit.'),
	('NL', 'NL91ABNA0417164300', '4!a10!n', 'NL14ABNAA417164300', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of NL (4!a10!n) has a digit.'),
	('NO', 'NO9386011117947', '4!n6!n1!n', 'NO66A6011117947', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of NO (4!n6!n1!n) has a digit.'),
	('OM', 'OM810180000001299123456', '3!n16!c', 'OM10A180000001299123456', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of OM (3!n16!c) has a digit.'),
	('PK', 'PK36SCBL0000001123456702', '4!a16!c', 'PK210CBL0000001123456702', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of PK (4!a16!c) has a letter.'),
	('PL', 'PL61109010140000071219812874', '8!n16!n', 'PL33A09010140000071219812874', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of PL (8!n16!n) has a digit.'),
	('PS', 'PS92PALS000000000400123456702', '4!a21!c', 'PS160ALS000000000400123456702', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of PS (4!a21!c) has a letter.'),
	('PT', 'PT50000201231234567890154', '4!n4!n11!n2!n', 'PT31A00201231234567890154', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of PT (4!n4!n11!n2!n) has a digit.'),
	('QA', 'QA58DOHB00001234567890ABCDEFG', '4!a21!c', 'QA770OHB00001234567890ABCDEFG', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of QA (4!a21!c) has a letter.'),
	('RO', 'RO49AAAA1B31007593840000', '4!a16!c', 'RO370AAA1B31007593840000', 'invalid_iban: Field "debtor.iban" has "0" at position 5 where the IBAN registry''s format of RO (4!a16!c) has a letter.'),
	('RS', 'RS35260005601001611379', '3!n13!n2!n', 'RS72A60005601001611379', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of RS (3!n13!n2!n) has a digit.'),
	('RU', 'RU0304452522540817810538091310419', '9!n5!n15!c', 'RU16A4452522540817810538091310419', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of RU (9!n5!n15!c) has a digit.'),
	('SA', 'SA0380000000608010167519', '2!n18!c', 'SA55A0000000608010167519', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SA (2!n18!c) has a digit.'),
	('SC', 'SC18SSCB11010000000000001497USD', '4!a2!n2!n16!n3!a', 'SC23SSCBA1010000000000001497USD', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of SC (4!a2!n2!n16!n3!a) has a digit.'),
	('SD', 'SD2129010501234001', '2!n12!n', 'SD79A9010501234001', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SD (2!n12!n) has a digit.'),
	('SE', 'SE4550000000058398257466', '3!n16!n1!n', 'SE78A0000000058398257466', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SE (3!n16!n1!n) has a digit.'),
	('SI', 'SI56263300012039086', '5!n8!n2!n', 'SI54A63300012039086', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SI (5!n8!n2!n) has a digit.'),
	('SK', 'SK3112000000198742637541', '4!n6!n10!n', 'SK71A2000000198742637541', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SK (4!n6!n10!n) has a digit.'),
	('SM', 'SM86U0322509800000000270100', '1!a5!n5!n12!c', 'SM06UA322509800000000270100', 'invalid_iban: Field "debtor.iban" has "A" at position 6 where the IBAN registry''s format of SM (1!a5!n5!n12!c) has a digit.'),
	('SO', 'SO211000001001000100141', '4!n3!n12!n', 'SO25A000001001000100141', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of SO (4!n3!n12!n) has a digit.'),
	('ST', 'ST32000200010192194210112', '4!n4!n11!n2!n', 'ST13A00200010192194210112', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of ST (4!n4!n11!n2!n) has a digit.'),
	('SV', 'SV62CENR00000000000000700025', '4!a20!n', 'SV84CENRA0000000000000700025', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of SV (4!a20!n) has a digit.'),
	('TL', 'TL380080012345678910157', '3!n14!n2!n', 'TL64A080012345678910157', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of TL (3!n14!n2!n) has a digit.'),
	('TN', 'TN5910006035183598478831', '2!n3!n13!n2!n', 'TN02A0006035183598478831', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of TN (2!n3!n13!n2!n) has a digit.'),
	('TR', 'TR330006100519786457841326', '5!n1!n16!c', 'TR37A006100519786457841326', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of TR (5!n1!n16!c) has a digit.'),
	('UA', 'UA213223130000026007233566001', '6!n19!c', 'UA08A223130000026007233566001', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of UA (6!n19!c) has a digit.'),
	('VA', 'VA59001123000012345678', '3!n15!n', 'VA81A01123000012345678', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of VA (3!n15!n) has a digit.'),
	('VG', 'VG96VPVG0000012345678901', '4!a16!n', 'VG48VPVGA000012345678901', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of VG (4!a16!n) has a digit.'),
	('XK', 'XK051212012345678906', '4!n10!n2!n', 'XK31A212012345678906', 'invalid_iban: Field "debtor.iban" has "A" at position 5 where the IBAN registry''s format of XK (4!n10!n2!n) has a digit.'),
	('YE', 'YE15CBYE0001018861234567891234', '4!a4!n18!c', 'YE23CBYEA001018861234567891234', 'invalid_iban: Field "debtor.iban" has "A" at position 9 where the IBAN registry''s format of YE (4!a4!n18!c) has a digit.');

SELECT is((SELECT count(*) FROM registry), 89::bigint, 'the registry has 89 countries');

SELECT is(pg_temp.verdict(example), 'valid', country || ' ' || example || ' (' || bban || ') is valid')
  FROM registry ORDER BY country;

SELECT is(array_agg(country ORDER BY country) FILTER (WHERE pg_temp.mod97(mutation) <> 1), NULL,
		  'every mutation passes the mod-97 check')
  FROM registry WHERE mutation IS NOT NULL;

SELECT is(pg_temp.verdict(mutation), detail,
		  country || ' ' || mutation || ' passes mod-97 but breaks ' || bban)
  FROM registry WHERE mutation IS NOT NULL ORDER BY country;

SELECT * FROM finish();
ROLLBACK;
