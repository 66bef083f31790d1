-- Run once by each Vitess tablet's mysqld on a new data directory (the VitessCluster's
-- databaseInitScriptSecret). It creates the accounts vttablet logs in with; the application
-- never sees them — it talks to vtgate as the user in users.json.

-- The replicas of a fresh shard start read-only; the accounts must be created anyway, and
-- must not reach the binary log (a replica would otherwise carry errant transactions).
SET @mela_super_read_only = IF(@@global.super_read_only = 1, 'ON', 'OFF');
SET GLOBAL super_read_only = 'OFF';
SET sql_log_bin = 0;

-- No anonymous or remote root logins, no test schema.
DROP USER IF EXISTS ''@'%', ''@'localhost', 'root'@'%';
DROP DATABASE IF EXISTS test;

-- vttablet's administrative account (schema changes, backups, replication set-up).
CREATE USER 'vt_dba'@'localhost';
GRANT ALL ON *.* TO 'vt_dba'@'localhost' WITH GRANT OPTION;
GRANT PROXY ON ''@'' TO 'vt_dba'@'localhost' WITH GRANT OPTION;

-- The account application queries run as, once vtgate has routed them.
CREATE USER 'vt_app'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX,
  ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION CLIENT,
  CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER
  ON *.* TO 'vt_app'@'localhost';

-- Read-only debugging.
CREATE USER 'vt_appdebug'@'localhost';
GRANT SELECT, SHOW DATABASES, PROCESS ON *.* TO 'vt_appdebug'@'localhost';

-- Administrative work that must not need SUPER.
CREATE USER 'vt_allprivs'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX,
  ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE,
  REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT,
  TRIGGER ON *.* TO 'vt_allprivs'@'localhost';

-- Replicas connect to their primary with this one.
CREATE USER 'vt_repl'@'%';
GRANT REPLICATION SLAVE ON *.* TO 'vt_repl'@'%';

-- VReplication (MoveTables, Reshard) reads and writes with this one.
CREATE USER 'vt_filtered'@'localhost';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, FILE, REFERENCES, INDEX,
  ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE,
  REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT,
  TRIGGER ON *.* TO 'vt_filtered'@'localhost';

-- mysqld-exporter and health checks.
CREATE USER 'vt_monitoring'@'localhost';
GRANT SELECT, PROCESS, SUPER, REPLICATION CLIENT, RELOAD ON *.* TO 'vt_monitoring'@'localhost';
GRANT SELECT, UPDATE, DELETE, DROP ON performance_schema.* TO 'vt_monitoring'@'localhost';

SET GLOBAL super_read_only = IFNULL(@mela_super_read_only, 'ON');
