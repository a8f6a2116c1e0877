"""The system of record in DuckDB: schema migrations, the connection, and one repository per table group."""
