"""The fault-injection suite: a seeded scenario of webhook pushes played against the real platform
while its servers and processes are restarted and killed, then checked against a model of the
scenario (docs/operations.md, "Faults"). ``python -m tests.faults --seed N`` runs it from a shell."""
