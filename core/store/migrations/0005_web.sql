-- Staff accounts, their sessions and roles, per-business API tokens, encrypted secrets, and the business settings
-- that the web UI edits outside the tenant file (webhooks, data retention). Every row but a user's own carries
-- tenant_id. Passwords are argon2 hashes; session ids and API tokens are stored only as keyed hashes; secrets are
-- AES-GCM ciphertext under a key kept outside this file.

CREATE TABLE users (
    id              VARCHAR PRIMARY KEY,
    email           VARCHAR NOT NULL,
    name            VARCHAR NOT NULL,
    password_hash   VARCHAR NOT NULL,
    phone           VARCHAR,
    installer       BOOLEAN NOT NULL DEFAULT false,
    disabled        BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMP NOT NULL,
    last_login_at   TIMESTAMP
);
CREATE INDEX users_email ON users (email);

CREATE TABLE memberships (
    user_id     VARCHAR NOT NULL,
    tenant_id   VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, tenant_id)
);

CREATE TABLE web_sessions (
    id_hash       VARCHAR PRIMARY KEY,
    user_id       VARCHAR NOT NULL,
    csrf          VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    address       VARCHAR,
    user_agent    VARCHAR
);

CREATE TABLE api_tokens (
    id            VARCHAR PRIMARY KEY,
    tenant_id     VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,
    token_hash    VARCHAR NOT NULL,
    created_by    VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    revoked_at    TIMESTAMP
);
CREATE INDEX api_tokens_hash ON api_tokens (token_hash);

CREATE TABLE secrets (
    tenant_id   VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    ciphertext  VARCHAR NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE webhooks (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    url         VARCHAR NOT NULL,
    events      VARCHAR[] NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE retention (
    tenant_id         VARCHAR PRIMARY KEY,
    recordings_days   INTEGER,
    calls_days        INTEGER,
    updated_at        TIMESTAMP NOT NULL
);

CREATE INDEX calls_tenant_status ON calls (tenant_id, status);
CREATE INDEX leads_tenant ON leads (tenant_id, created_at);
