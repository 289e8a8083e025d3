"""Building blocks: the layers, normalizations, attention, optimizers and regularizers of deep nets.

Each block is written from its definition in a few lines of torch and tested against PyTorch's own
routine. This part imports from the math and training parts only.
"""
