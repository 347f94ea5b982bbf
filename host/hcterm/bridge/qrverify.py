"""Electronic health card QR codes: ask the card management platform who the code belongs to.

Terminals never verify a QR code offline (docs/qr-scanner.md, docs/bridge.md): the bridge hands
each QR event to a `QRVerifier`, which asks the platform and returns the identity, or raises
`QRVerifyError(reason, message)`. `HttpQRVerifier` posts the request fields as JSON, plain or
in the SM4/SM3 envelope (docs/bridge.md "QR verification" has the exact bytes):

| request field  | meaning                                                        |
|----------------|----------------------------------------------------------------|
| `qrCode`       | the QR text as scanned                                         |
| `time`         | when it was scanned, `YYYYMMDDhhmmss` (local time)             |
| `terminalId`   | organisation code + 4-digit department code                    |
| `cityCode`     | the city code                                                  |
| `hospitalCode` | the hospital code                                              |
| `channelCode`  | the channel (terminal type) code                               |
| `careStep`     | the care-step code (诊疗环节, e.g. `010101`)                    |

The platform answers `{"code": "0", "message": …, "data": identity}`; identity fields are
renamed to the national interface's names (IDENTITY_FIELDS). Any other code is a refusal.
Another platform: subclass QRVerifier and give it to `create_app(verifier=…)`.
"""

import json
import secrets
import time

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# platform identity key -> event field (national names where the card has one)
IDENTITY_FIELDS = {"name": "XM", "sex": "XB", "nation": "MZ", "birthday": "CSRQ",
                   "idType": "ZJLX", "idNumber": "SFZH", "mainIndex": "ZSY"}
REQUEST_FIELDS = ("qrCode", "time", "terminalId", "cityCode", "hospitalCode", "channelCode",
                  "careStep")


class QRVerifyError(Exception):
    """reason: refused (the platform said no), unreachable, bad_answer, config."""

    def __init__(self, reason, message):
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


class QRVerifier:
    """The interface: `await verify(text)` -> identity dict (IDENTITY_FIELDS' values)."""

    async def verify(self, text):
        raise NotImplementedError

    async def close(self):
        pass


# -- the envelope (pure functions) ---------------------------------------------------------------
def sign(params, secret):
    """SM3 over `k=v` of every parameter but "sign" (and empty ones), sorted by key, joined
    with `&`, then `&key=` + the app secret: 64 upper-case hex digits."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params)
                    if k != "sign" and params[k] not in (None, ""))
    text += "&key=" + secret
    return sm3_hex(text.encode("utf-8"))


def sm3_hex(data):
    """SM3 (GB/T 32905) of `data`: 64 upper-case hex digits."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(bytes(data))
    return digest.finalize().hex().upper()


def _sm4_ecb(key):
    return Cipher(algorithms.SM4(bytes(key)), modes.ECB())


def encrypt(obj, key):
    """JSON (compact, keys sorted, UTF-8) -> SM4-ECB with PKCS#7 padding -> upper-case hex."""
    plain = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    pad = padding.PKCS7(128).padder()
    padded = pad.update(plain.encode("utf-8")) + pad.finalize()
    work = _sm4_ecb(key).encryptor()
    return (work.update(padded) + work.finalize()).hex().upper()


def decrypt(data, key):
    """The inverse of encrypt; ValueError when it is not that."""
    try:
        raw = bytes.fromhex(data)
    except (TypeError, ValueError):
        raise ValueError("data is not hex") from None
    if not raw or len(raw) % 16:
        raise ValueError("data is not whole SM4 blocks")
    work = _sm4_ecb(key).decryptor()
    padded = work.update(raw) + work.finalize()
    try:
        unpad = padding.PKCS7(128).unpadder()
        plain = unpad.update(padded) + unpad.finalize()
        return json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("data does not decrypt to JSON (wrong SM4 key?)") from None


def seal(fields, app_id, key, secret, timestamp=None, nonce=None):
    """The envelope around `fields`: appId, timestamp, nonce, data (encrypted), sign."""
    body = {"appId": app_id, "timestamp": str(timestamp or int(time.time())),
            "nonce": nonce or secrets.token_hex(8), "data": encrypt(fields, key)}
    body["sign"] = sign(body, secret)
    return body


def unseal(body, key, secret):
    """Check an envelope's sign and decrypt its data; ValueError says what is wrong."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), str):
        raise ValueError("no encrypted data")
    expected = sign({k: v for k, v in body.items() if not isinstance(v, (dict, list))}, secret)
    if str(body.get("sign", "")).upper() != expected:
        raise ValueError("the SM3 sign does not match (wrong app secret?)")
    return decrypt(body["data"], key)


# -- the HTTP platform -------------------------------------------------------------------------
class HttpQRVerifier(QRVerifier):
    def __init__(self, url, org_code, department, city_code, hospital_code, channel_code,
                 care_step, app_id=None, app_secret=None, sm4_key=None, timeout=5.0):
        if len(department) != 4 or not department.isdigit():
            raise QRVerifyError("config", f"department code must be 4 digits, got "
                                f"{department!r}")
        envelope = (app_id, app_secret, sm4_key)
        if any(envelope) and not all(envelope):
            raise QRVerifyError("config", "the envelope needs app id, app secret and SM4 key "
                                "together")
        self.key = None
        if sm4_key:
            try:
                self.key = bytes.fromhex(sm4_key)
            except ValueError:
                self.key = b""
            if len(self.key) != 16:
                raise QRVerifyError("config", "the SM4 key must be 32 hex digits (16 bytes)")
        self.url = url
        self.app_id = app_id
        self.app_secret = app_secret
        self.timeout = timeout
        self.context = {"terminalId": org_code + department, "cityCode": city_code,
                        "hospitalCode": hospital_code, "channelCode": channel_code,
                        "careStep": care_step}
        self._session = None

    @property
    def enveloped(self):
        return self.key is not None

    def request_fields(self, text, now=None):
        fields = {"qrCode": text, "time": time.strftime("%Y%m%d%H%M%S",
                                                         time.localtime(now))}
        fields.update(self.context)
        return fields

    def request_body(self, text, now=None):
        fields = self.request_fields(text, now)
        if not self.enveloped:
            return fields
        return seal(fields, self.app_id, self.key, self.app_secret)

    async def verify(self, text):
        import aiohttp

        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.post(self.url, json=self.request_body(text)) as answer:
                if answer.status != 200:
                    raise QRVerifyError("unreachable", f"the platform at {self.url} answered "
                                        f"HTTP {answer.status}")
                body = await answer.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise QRVerifyError("unreachable", f"the platform at {self.url} did not answer: "
                                f"{error or type(error).__name__}; check the URL and the "
                                "network") from None
        except ValueError:
            raise QRVerifyError("bad_answer", "the platform's answer is not JSON") from None
        return self._identity(body)

    def _identity(self, body):
        if not isinstance(body, dict):
            raise QRVerifyError("bad_answer", "the platform's answer is not a JSON object")
        if str(body.get("code")) != "0":
            raise QRVerifyError("refused", f"the platform refused the code: "
                                f"{body.get('message') or 'no message'} (code "
                                f"{body.get('code')})")
        data = body.get("data")
        if self.enveloped:
            try:
                data = unseal(body, self.key, self.app_secret)
            except ValueError as error:
                raise QRVerifyError("bad_answer", f"the platform's envelope: {error}") \
                    from None
        if not isinstance(data, dict):
            raise QRVerifyError("bad_answer", "the platform's answer has no identity")
        return {IDENTITY_FIELDS.get(k, k): v for k, v in data.items()}

    async def close(self):
        if self._session is not None:
            await self._session.close()
            self._session = None
