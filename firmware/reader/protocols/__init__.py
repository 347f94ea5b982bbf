"""Protocols (layer 3): they touch only chip drivers.

iso14443_3 (type A activation over a bit-framing chip), iso14443_4 (T=CL block protocol over a
raw-frame chip), apdu (the one APDU channel interface: 61xx/6Cxx, status words; the PN532's
and the SAM slot's channels; `Card`, an activated card), and the card reader of each chip:
pn532_reader (the chip runs ISO-DEP), rc522_reader (the firmware runs 14443-3 and T=CL).
"""
