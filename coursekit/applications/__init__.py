"""Deep learning today: metrics, detection, generative models, language, robustness, carbon.

The applications the first lecture surveys and its open problems, each as a small model or
measurement a student can run in seconds.
"""
