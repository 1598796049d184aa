-- hero_logic schema 2: a play's run number (`runs` in its record) as a
-- column, so that a checkpoint checks in its own SQL, with the play's row
-- locked, that its run is still the play's current one (the fencing number
-- of SPEC §12), rather than reading the row in a round trip of its own
-- first.

ALTER TABLE plays ADD COLUMN runs bigint NOT NULL DEFAULT 0;
UPDATE plays SET runs = (record::jsonb ->> 'runs')::bigint;
