"""The commands' jobs: ``certify run`` (certificates, reproduce.sh, the report, the ranking) and ``certify demo``."""
