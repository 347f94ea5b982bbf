"""The virtual reader: the firmware on the MicroPython unix port, wired to emulated devices."""
