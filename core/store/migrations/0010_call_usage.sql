-- What a call cost in LLM tokens (read: every prompt token, cached or not; written: every reply token), the call's
-- own and its post-call analysis's: usage per business, per month, is what a reseller bills by. Calls stored before
-- were not counted.

ALTER TABLE calls ADD COLUMN llm_tokens_in BIGINT DEFAULT 0;
ALTER TABLE calls ADD COLUMN llm_tokens_out BIGINT DEFAULT 0;
