-- hero_logic schema 1 in PostgreSQL: the same records as the embedded
-- store, as JSON text of the model types (kept as written, so large
-- integers and key order come back exactly; cast to jsonb to query them).
-- Keys that order (sids sort by creation time) use the "C" collation, so
-- they sort by bytes as in redb, whatever the database's locale.

CREATE TABLE meta (
    key   text COLLATE "C" PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE workflows (
    sid    text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);

-- A name finds the workflow last saved under it.
CREATE TABLE workflow_names (
    name text COLLATE "C" PRIMARY KEY,
    sid  text COLLATE "C" NOT NULL
);

CREATE TABLE versions (
    sid          text COLLATE "C" PRIMARY KEY,
    workflow_sid text COLLATE "C" NOT NULL,
    created_at   text COLLATE "C" NOT NULL,
    record       text NOT NULL
);
CREATE INDEX versions_of_workflow ON versions (workflow_sid, created_at, sid);

CREATE TABLE analyses (
    source_hash text COLLATE "C" PRIMARY KEY,
    analysis    text NOT NULL
);

-- worker_id and lease_until: the lease of a play that is `pending` or
-- `running` (SPEC §12): the worker whose run it is, until when. The play's
-- run number (`runs` in the record) is the fencing number: a takeover
-- starts a new run, and every write of a run checks, with the play's row
-- locked, that its run is still the play's current one.
CREATE TABLE plays (
    sid          text COLLATE "C" PRIMARY KEY,
    status       text COLLATE "C" NOT NULL,
    workflow_sid text COLLATE "C" NOT NULL,
    parent_sid   text COLLATE "C",
    steps_done   bigint NOT NULL DEFAULT 0,
    worker_id    text COLLATE "C",
    lease_until  timestamptz,
    record       text NOT NULL
);
CREATE INDEX plays_by_lease ON plays (lease_until) WHERE status IN ('pending', 'running');
CREATE INDEX plays_by_status ON plays (status, sid);
CREATE INDEX plays_by_workflow ON plays (workflow_sid, sid);
CREATE INDEX plays_by_parent ON plays (parent_sid, sid) WHERE parent_sid IS NOT NULL;

CREATE TABLE step_outputs (
    play_sid text COLLATE "C" NOT NULL,
    step_key text COLLATE "C" NOT NULL,
    output   text NOT NULL,
    PRIMARY KEY (play_sid, step_key)
);

CREATE TABLE spans (
    play_sid text COLLATE "C" NOT NULL,
    run      bigint NOT NULL,
    seq      bigint NOT NULL,
    span     text NOT NULL,
    PRIMARY KEY (play_sid, run, seq)
);

CREATE TABLE logs (
    play_sid text COLLATE "C" NOT NULL,
    run      bigint NOT NULL,
    seq      bigint NOT NULL,
    line     text NOT NULL,
    PRIMARY KEY (play_sid, run, seq)
);

-- The open pauses the clock answers, soonest first (due: microseconds
-- since the epoch).
CREATE TABLE timers (
    due      bigint NOT NULL,
    play_sid text COLLATE "C" NOT NULL,
    pause_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (due, play_sid, pause_id)
);
CREATE INDEX timers_of_play ON timers (play_sid);

CREATE TABLE schedules (
    name   text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);

CREATE TABLE idempotency_keys (
    workflow_sid text COLLATE "C" NOT NULL,
    key          text COLLATE "C" NOT NULL,
    play_sid     text COLLATE "C" NOT NULL,
    PRIMARY KEY (workflow_sid, key)
);

CREATE TABLE resume_tokens (
    token    text COLLATE "C" PRIMARY KEY,
    play_sid text COLLATE "C" NOT NULL,
    pause_id text COLLATE "C" NOT NULL
);
CREATE INDEX resume_tokens_of_play ON resume_tokens (play_sid);

CREATE TABLE http_keys (
    id     text COLLATE "C" PRIMARY KEY,
    record text NOT NULL
);

-- The servers that share this database (SPEC §12).
CREATE TABLE workers (
    id           text COLLATE "C" PRIMARY KEY,
    host         text NOT NULL,
    pid          bigint NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL
);
