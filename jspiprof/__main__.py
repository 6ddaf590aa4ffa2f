"""`python -m jspiprof` is the `jspiprof` command."""

from jspiprof.cli import main

main()
