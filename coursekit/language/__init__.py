"""Language models: counting n-grams, their perplexity, and decoding text from a model's logits.

Each function is written from its definition and tested against a brute-force count, SciPy, or
the rules that Hugging Face transformers' samplers follow.
"""
