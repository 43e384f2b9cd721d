-- sockhub 0006 (MySQL / MariaDB): the confusable skeleton of each account name. Same column as
-- the SQLite and PostgreSQL versions; see migrations/sqlite/0006_name_skeleton.sql.

ALTER TABLE accounts ADD COLUMN name_skeleton VARCHAR(255) NULL, ADD INDEX accounts_name_skeleton (name_skeleton);
