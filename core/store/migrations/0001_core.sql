-- The core schema. Every TIMESTAMP column holds UTC. Every row but a tenant's own carries tenant_id, and every
-- query made on behalf of a user filters by it.

CREATE TABLE tenants (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    timezone    VARCHAR NOT NULL,
    document    JSON NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE phone_numbers (
    number      VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE assistants (
    tenant_id   VARCHAR NOT NULL,
    id          VARCHAR NOT NULL,
    greeting    VARCHAR NOT NULL,
    personality VARCHAR NOT NULL,
    voice       VARCHAR NOT NULL,
    config      JSON NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE calls (
    id            VARCHAR PRIMARY KEY,
    tenant_id     VARCHAR NOT NULL,
    assistant_id  VARCHAR NOT NULL,
    channel       VARCHAR NOT NULL,
    caller        VARCHAR,
    callee        VARCHAR,
    started_at    TIMESTAMP NOT NULL,
    ended_at      TIMESTAMP,
    duration_s    DOUBLE,
    status        VARCHAR NOT NULL,
    outcome       VARCHAR,
    end_reason    VARCHAR,
    recording     VARCHAR,
    meta          JSON
);
CREATE INDEX calls_tenant_started ON calls (tenant_id, started_at);

CREATE TABLE turns (
    tenant_id           VARCHAR NOT NULL,
    call_id             VARCHAR NOT NULL,
    idx                 INTEGER NOT NULL,
    started_at          TIMESTAMP NOT NULL,
    source              VARCHAR NOT NULL,
    caller_text         VARCHAR,
    reply_text          VARCHAR NOT NULL,
    intent              VARCHAR,
    interrupted         BOOLEAN NOT NULL DEFAULT false,
    endpoint_ms         DOUBLE,
    stt_ms              DOUBLE,
    llm_first_token_ms  DOUBLE,
    tts_first_audio_ms  DOUBLE,
    voice_to_voice_ms   DOUBLE,
    plan                JSON,
    PRIMARY KEY (call_id, idx)
);

CREATE TABLE tool_calls (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    call_id     VARCHAR,
    turn_idx    INTEGER,
    name        VARCHAR NOT NULL,
    arguments   JSON NOT NULL,
    result      JSON,
    ok          BOOLEAN NOT NULL,
    error       VARCHAR,
    latency_ms  DOUBLE NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE bookings (
    id              VARCHAR PRIMARY KEY,
    tenant_id       VARCHAR NOT NULL,
    call_id         VARCHAR,
    service         VARCHAR NOT NULL,
    starts_at       TIMESTAMP NOT NULL,
    ends_at         TIMESTAMP NOT NULL,
    customer_name   VARCHAR NOT NULL,
    customer_phone  VARCHAR NOT NULL,
    status          VARCHAR NOT NULL,
    notes           VARCHAR,
    created_at      TIMESTAMP NOT NULL
);

CREATE TABLE leads (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    call_id     VARCHAR,
    name        VARCHAR,
    phone       VARCHAR,
    reason      VARCHAR NOT NULL,
    urgency     VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE notifications (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    call_id     VARCHAR,
    kind        VARCHAR NOT NULL,
    channel     VARCHAR NOT NULL,
    target      VARCHAR NOT NULL,
    subject     VARCHAR,
    body        VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  VARCHAR,
    created_at  TIMESTAMP NOT NULL,
    sent_at     TIMESTAMP
);

CREATE TABLE usage (
    tenant_id       VARCHAR NOT NULL,
    day             DATE NOT NULL,
    calls           INTEGER NOT NULL DEFAULT 0,
    call_seconds    DOUBLE NOT NULL DEFAULT 0,
    stt_seconds     DOUBLE NOT NULL DEFAULT 0,
    llm_tokens      BIGINT NOT NULL DEFAULT 0,
    tts_seconds     DOUBLE NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, day)
);

CREATE TABLE audit_log (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR,
    occurred_at TIMESTAMP NOT NULL,
    actor       VARCHAR NOT NULL,
    action      VARCHAR NOT NULL,
    target      VARCHAR,
    detail      JSON
);
CREATE INDEX audit_tenant_at ON audit_log (tenant_id, occurred_at);
