"""Language models: counting n-grams, their perplexity, byte-level BPE tokenization, decoding
text from a model's logits, Llama 2 built from the building blocks (with its key/value cache,
generation and a converter from Hugging Face transformers), and images as tokens.

Each function is written from its definition and tested against a brute-force count, SciPy,
tiktoken, or Hugging Face transformers' own implementation.
"""
