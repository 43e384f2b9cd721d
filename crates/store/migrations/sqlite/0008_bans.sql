-- sockhub 0008 (SQLite): bans. Conventions as in 0001 (times are BIGINT unix ms).
--
-- Current ban state, one row per banned name, like `mutes`; written synchronously (not through
-- the batched writer) so that a ban survives a restart the moment the admin has been told. The
-- key is the name's confusable skeleton (UTS #39 of NFC + lowercase), so a look-alike of a
-- banned name is the same row. `address` is the banned user's address group when the ban covers
-- it too: an IPv4 address, or the /64 network of an IPv6 address (`2001:db8:1:2::`). Expired
-- rows are not deleted eagerly; they are simply not active, and the next ban or unban of that
-- name replaces or removes them. Every ban and unban is also in the `moderation` log.

CREATE TABLE bans (
    target_key TEXT   NOT NULL PRIMARY KEY,
    target     TEXT   NOT NULL,
    address    TEXT,
    until_ms   BIGINT,
    reason     TEXT,
    actor      TEXT   NOT NULL,
    at_ms      BIGINT NOT NULL
);
