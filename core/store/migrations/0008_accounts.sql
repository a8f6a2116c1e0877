-- Accounts are shared by the businesses they belong to, so a business adds an existing account by invitation,
-- which its holder accepts with a code the inviting owner was shown once (only its keyed hash is kept). An owner
-- can reset a member's password: the old one stops working and a one-time link (kept as a keyed hash) lets the
-- member choose a new one. An API token remembers the person it acts for, so that it is never worth more than
-- that person's role in the business at the time of each request, and the token that made it, if a token did.

CREATE TABLE invitations (
    id          VARCHAR PRIMARY KEY,
    tenant_id   VARCHAR NOT NULL,
    user_id     VARCHAR NOT NULL,
    role        VARCHAR NOT NULL,
    code_hash   VARCHAR NOT NULL,
    invited_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX invitations_user ON invitations (user_id);

CREATE TABLE password_resets (
    token_hash  VARCHAR PRIMARY KEY,
    user_id     VARCHAR NOT NULL,
    tenant_id   VARCHAR,
    created_by  VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL
);

ALTER TABLE api_tokens ADD COLUMN creator_user VARCHAR;
ALTER TABLE api_tokens ADD COLUMN parent_token VARCHAR;
-- Tokens made before: a person's are tied to that person; the CLI's to no one (it is installer everywhere); one
-- made by another token (known only by a name) to '?', no one's id, so it is refused until it is made again.
UPDATE api_tokens SET creator_user = coalesce(
    (SELECT u.id FROM users u WHERE 'user:' || u.email = api_tokens.created_by),
    CASE WHEN created_by = 'cli' THEN NULL ELSE '?' END
);
