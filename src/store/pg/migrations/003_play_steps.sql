-- hero_logic schema 3: a play's count of steps done in a narrow table of
-- its own. A checkpoint counts its step there: updating the play's own row
-- (its record, often a kilobyte or more) at every step cost a tenth of the
-- step (BENCHMARKS.md, fifth session). A play with no row here has done no
-- step.

CREATE TABLE play_steps (
    sid text COLLATE "C" PRIMARY KEY,
    n   bigint NOT NULL
);
INSERT INTO play_steps (sid, n) SELECT sid, steps_done FROM plays WHERE steps_done > 0;
ALTER TABLE plays DROP COLUMN steps_done;
