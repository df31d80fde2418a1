"""Search: the passage store (Chroma generations), BM25, the vector store, hybrid fusion and rerank."""
