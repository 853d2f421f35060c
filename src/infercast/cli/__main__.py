"""`python -m infercast.cli`: the command line."""
from infercast.cli import main

main()
