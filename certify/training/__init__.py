"""Training: PAC-Bayes posterior optimisation, quantisation and compression (the training side of ``certify
optimize`` / ``certify compress``), the trajectory recorder
and the training callbacks (certificates every N epochs; Lightning)."""
