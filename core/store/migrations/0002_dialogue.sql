-- What the receptionist's tools write: bookings kept in an external calendar too, messages for the team.

ALTER TABLE bookings ADD COLUMN calendar VARCHAR DEFAULT 'builtin';
ALTER TABLE bookings ADD COLUMN calendar_ref VARCHAR;
ALTER TABLE bookings ADD COLUMN updated_at TIMESTAMP;
CREATE INDEX bookings_tenant_start ON bookings (tenant_id, starts_at);

CREATE TABLE messages (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    call_id     VARCHAR,
    name        VARCHAR,
    phone       VARCHAR,
    body        VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

ALTER TABLE turns ADD COLUMN filler_audio_ms DOUBLE;
