-- The knowledge base's catalog. The chunks and vectors live in LanceDB (one table per tenant, under
-- <data>/kb/lance); these rows say which table is current, what each source holds, and whether it is stale.

CREATE TABLE kb_sources (
    tenant_id    VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,   -- the URL as given, the file name, or 'faq'
    kind         VARCHAR NOT NULL,   -- website | page | pdf | text | markdown | html | faq
    status       VARCHAR NOT NULL,   -- ok | stale (the last ingest failed; the previous content is kept)
    pages        INTEGER NOT NULL,
    chunks       INTEGER NOT NULL,
    tokens       INTEGER NOT NULL,   -- LLM tokens of its quoted text
    notes        JSON NOT NULL,      -- what was skipped or could not be read, and why
    error        VARCHAR,            -- why the last ingest failed, while stale
    quoted       VARCHAR NOT NULL,   -- its text, neutralised and quoted, as it goes into an inline prompt
    options      JSON NOT NULL,      -- how it was added (crawl depth and pages), so it can be refreshed alike
    added_at     TIMESTAMP NOT NULL,
    ingested_at  TIMESTAMP NOT NULL,
    failed_at    TIMESTAMP,
    PRIMARY KEY (tenant_id, source)
);

CREATE TABLE kb_tenants (
    tenant_id    VARCHAR PRIMARY KEY,
    table_name   VARCHAR,            -- the LanceDB table in use; NULL when the tenant has no chunks
    mode         VARCHAR NOT NULL,   -- inline | retrieval
    tokens       INTEGER NOT NULL,
    chunks       INTEGER NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
