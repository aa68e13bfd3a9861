package pgfloor

// A workload is one pgbench script and the name its runs go by in
// Result.Runs.
type workload struct {
	name   string
	script string
}

// Names of the workloads, the keys of Result.Runs.
const (
	Insert1Name = "insert1"
	MsgTxName   = "msgtx"
	RouteName   = "route"
)

// schema mirrors the columns and indexes of our own tables that the
// workloads write, without the columns they never touch: what an index or
// a wider row costs is part of the floor, a missing foreign key is not
// worth a migration dependency. 500 workers are perf.md's 500 agents; 10k
// conversations spread the message updates so clients rarely queue on one
// row (the scripts draw from the same 1..10000).
const schema = `
CREATE SEQUENCE sids;
CREATE TABLE conversations (
    sid          TEXT PRIMARY KEY,
    unread       INTEGER NOT NULL DEFAULT 0,
    next_index   BIGINT NOT NULL DEFAULT 0,
    date_updated TIMESTAMPTZ NOT NULL
);
CREATE TABLE messages (
    sid              TEXT PRIMARY KEY,
    conversation_sid TEXT NOT NULL,
    idx              BIGINT NOT NULL,
    author           TEXT NOT NULL,
    body             TEXT,
    date_created     TIMESTAMPTZ NOT NULL,
    UNIQUE (conversation_sid, idx)
);
CREATE TABLE workers (
    sid           TEXT PRIMARY KEY,
    used          INTEGER NOT NULL DEFAULT 0,
    capacity      INTEGER NOT NULL,
    last_assigned TIMESTAMPTZ NOT NULL
);
CREATE INDEX workers_pick ON workers (used, last_assigned);
CREATE TABLE tasks (
    sid          TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    worker_sid   TEXT NOT NULL DEFAULT '',
    date_created TIMESTAMPTZ NOT NULL,
    date_updated TIMESTAMPTZ NOT NULL
);
CREATE TABLE reservations (
    sid          TEXT PRIMARY KEY,
    task_sid     TEXT NOT NULL,
    worker_sid   TEXT NOT NULL,
    status       TEXT NOT NULL,
    date_created TIMESTAMPTZ NOT NULL,
    date_updated TIMESTAMPTZ NOT NULL
);
CREATE INDEX reservations_worker ON reservations (worker_sid, status);
INSERT INTO conversations (sid, date_updated)
    SELECT 'CH' || lpad(to_hex(i), 32, '0'), now() FROM generate_series(1, 10000) i;
-- capacity 3 with one reservation per client at a time: the pick never
-- runs out of workers, so it measures the lock and the ordering alone
INSERT INTO workers (sid, capacity, last_assigned)
    SELECT 'WK' || lpad(to_hex(i), 32, '0'), 3, now() - i * interval '1 second'
    FROM generate_series(1, 500) i;
`

// reset brings the tables back to their seeded state before each run, so
// every run starts from the same sizes and no run pays for an earlier
// one's dead rows.
const reset = `
TRUNCATE messages, tasks, reservations;
UPDATE conversations SET unread = 0, next_index = 0;
UPDATE workers SET used = 0;
`

// The scripts. In -M prepared mode every :variable becomes a parameter of
// unknown type, hence the casts where an operator would be ambiguous.
func workloads() []workload {
	return []workload{
		{Insert1Name, `\set c random(1, 10000)
\set i random(1, 9000000000000000000)
INSERT INTO messages (sid, conversation_sid, idx, author, body, date_created)
VALUES ('IM' || lpad(to_hex(nextval('sids')), 32, '0'), 'CH' || lpad(to_hex(:c::bigint), 32, '0'), :i, 'customer', 'hello from the floor', now());
`},
		// The conversation row is locked first, as our message append does, so
		// the index it hands out stays gap-free under concurrent writers.
		{MsgTxName, `\set c random(1, 10000)
BEGIN;
UPDATE conversations SET unread = unread + 1, next_index = next_index + 1, date_updated = now()
WHERE sid = 'CH' || lpad(to_hex(:c::bigint), 32, '0') RETURNING sid AS conv, next_index - 1 AS idx \gset
INSERT INTO messages (sid, conversation_sid, idx, author, body, date_created)
VALUES ('IM' || lpad(to_hex(nextval('sids')), 32, '0'), :conv, :idx, 'customer', 'hello from the floor', now());
COMMIT;
`},
		// One routing cycle: assign (task, pick, capacity, reservation, task)
		// then release, so capacity is handed back and never runs out.
		{RouteName, `BEGIN;
INSERT INTO tasks (sid, status, date_created, date_updated)
VALUES ('WT' || lpad(to_hex(nextval('sids')), 32, '0'), 'pending', now(), now()) RETURNING sid AS task \gset
SELECT sid AS worker FROM workers WHERE used < capacity ORDER BY used, last_assigned LIMIT 1 FOR UPDATE SKIP LOCKED \gset
UPDATE workers SET used = used + 1, last_assigned = now() WHERE sid = :worker;
INSERT INTO reservations (sid, task_sid, worker_sid, status, date_created, date_updated)
VALUES ('WR' || lpad(to_hex(nextval('sids')), 32, '0'), :task, :worker, 'pending', now(), now()) RETURNING sid AS reservation \gset
UPDATE tasks SET status = 'reserved', worker_sid = :worker, date_updated = now() WHERE sid = :task;
COMMIT;
BEGIN;
UPDATE reservations SET status = 'completed', date_updated = now() WHERE sid = :reservation;
UPDATE tasks SET status = 'completed', date_updated = now() WHERE sid = :task;
UPDATE workers SET used = used - 1 WHERE sid = :worker;
COMMIT;
`},
	}
}
