"""Ingestion: discovery, formats, metadata and annotations (documents), chunking, the incremental plan."""
