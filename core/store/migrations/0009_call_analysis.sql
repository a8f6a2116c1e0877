-- What a call did and what was made of it afterwards: every outcome that applies (the first is ``outcome``), and
-- the post-call analysis (summary, sentiment, topics, lead score), pending until the box had time for it. Calls
-- stored before have neither: they are not analysed after the upgrade (a backlog of months would occupy the
-- model for days), and keep their one outcome.

ALTER TABLE calls ADD COLUMN outcomes VARCHAR[];
ALTER TABLE calls ADD COLUMN analysis_state VARCHAR;
ALTER TABLE calls ADD COLUMN analysis JSON;
UPDATE calls SET outcomes = [outcome] WHERE outcome IS NOT NULL;
