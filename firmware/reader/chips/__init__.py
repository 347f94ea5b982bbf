"""Chip drivers (layer 2): they touch only the bus objects a board hands them.

pn532 (frames, commands, status codes) with its buses pn532_uart and pn532_spi, and its
set-up, diagnostics and recovery commands (pn532_control); pn532_raw_frames (raw frames through
InCommunicateThru); mfrc522 (registers, FIFO, timer); sam_slot (ISO 7816-3 T=0 over a UART and
a reset line) with its activation (sam_activation: reset, ATR, PPS); qr_scanner (the QR
module's line reader).
"""
