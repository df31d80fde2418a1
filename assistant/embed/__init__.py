"""Embedding: the e5 model converter, the ONNX export, the encoders and their LangChain/Chroma adapters."""
