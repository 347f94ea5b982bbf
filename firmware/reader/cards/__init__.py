"""Card applications (layer 4): they touch only APDU channels (reader.protocols).

The Resident Health Card: healthcard (reads, the card session through the PSAM),
healthcard_write (writes, PIN), healthcard_files (whole-file reads), healthcard_items (the item
dictionary, shared with the host), healthcard_records (record codecs), healthcard_errors (its
one error and the status-word table); the PSAM: psam, psam_admin (files, PIN); the electronic
health card: qrcode (the QR code parser); idnumber (the citizen ID number's check character);
vendor_flow (the vendor's naive sequence, for the tap benchmark).
"""
