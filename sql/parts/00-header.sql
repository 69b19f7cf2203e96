\echo Use "CREATE EXTENSION voltpay" to load this file. \quit

-- voltpay: exactly-once payment writer.  The install script is assembled
-- from sql/parts/ by the Makefile; once a version is released its script is
-- frozen and changes ship as voltpay--A--B.sql upgrade scripts.

-- Roles are cluster-wide and outlive the extension: create them only when
-- missing (Liquibase normally creates them first).  NOLOGIN: logins are
-- granted membership.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'voltpay_writer') THEN
		CREATE ROLE voltpay_writer NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'voltpay_dba') THEN
		CREATE ROLE voltpay_dba NOLOGIN;
	END IF;
END
$roles$;

REVOKE ALL ON SCHEMA @extschema@ FROM PUBLIC;
GRANT USAGE ON SCHEMA @extschema@ TO voltpay_writer, voltpay_dba;
