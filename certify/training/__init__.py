"""Training: PAC-Bayes posterior optimisation, quantisation and compression (the training side of ``certify
optimize`` / ``certify compress``), and the trajectory recorder."""
