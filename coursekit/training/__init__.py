"""Training: devices, data, models, the training loop, checkpoints, GPUs and the command line.

The lecture's PyTorch: its `Net`, the classic loop, and `fit`, the same loop with what a real
run needs around it.
"""
