-- A business's golden conversations kept from its calls (a supervisor's "keep as a test"): what the caller said and
-- what must happen, run again after the assistant changes. ``caller`` and ``call_id`` let a caller's erasure take
-- the tests made from their calls with it.

CREATE TABLE golden_tests (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    spec        JSON NOT NULL,
    call_id     VARCHAR,
    caller      VARCHAR,
    last_run    JSON,
    previous_run JSON,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX golden_tests_tenant ON golden_tests (tenant_id);
