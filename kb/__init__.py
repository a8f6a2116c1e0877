"""The knowledge base: a business's website and documents, fetched safely, extracted, chunked, embedded, stored
in LanceDB (one table per tenant) and searched with BM25 and vectors together."""
