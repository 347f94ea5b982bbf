"""The terminal (layer 5): what the reader does with cards, codes and the host.

flow (poll, tap, check, feedback, report), qr_scan (a scanned code -> its event), blacklist
(the offline store and its file format, shared with the host), settings (/config.json) and
feedback (beeper, LED, display), devices (the drivers a board's contract asks
for), selftest, and the host link: link_server (framing, ACKs, events on the USB port), session
(the state the host's requests share with the flow), requests (one request -> its answer),
device_requests, card_requests, card_writes and card_visits (what each request does).
"""
