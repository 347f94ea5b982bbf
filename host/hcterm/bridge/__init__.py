"""The HIS bridge: readers over local HTTP/JSON and WebSocket (`hcterm bridge`, docs/bridge.md).

app.py (routes), readers.py (one supervised Reader per port), events.py (WebSocket fan-out),
national.py (national field forms), qrverify.py (electronic health card QR platform),
openapi.py (the API description), logs.py (JSON logs, ID numbers masked), errors.py (JSON
errors), static/index.html (the integrator page).
"""
