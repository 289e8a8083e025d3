"""Math: the linear algebra, calculus, probability and information theory the course needs.

Each function is written from the definition the chapter gives, in a few lines of torch, and
tested against NumPy, SciPy or scikit-learn. This part imports no other part of coursekit.
"""
