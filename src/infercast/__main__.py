"""`python -m infercast`: the command line."""
from infercast.cli import main

main()
