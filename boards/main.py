# main.py of every real board (each board's manifest.py freezes it): start the reader.
# The board's pin table is the frozen `board` module; reader.main runs the self-test, the
# host link and the terminal flow until the host asks for the REPL.
import board

import reader.main

reader.main.boot(board)
