"""The broker: URLs, TLS, credentials, and an aiomqtt client that says when the broker
refused a publish (MQTT 5 PUBACK reason code: e.g. 0x87 not authorized by its ACL).

    options = BrokerOptions.make("mqtts://broker.example:8883", ca="ca.pem", user="h-0001",
                                 password_file="h-0001.pass")
    async with options.client("hcterm-bridge-…", will=…) as client:
        await client.publish_acked(topic, payload, qos=1)   # PublishRefused if refused

aiomqtt (on paho-mqtt 2) is the client; MQTT 5 is always used.
"""

import asyncio
import dataclasses
import ssl
import stat
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


class BrokerError(Exception):
    """A broker URL, CA or credential that cannot be used, or a broker that refused us; the
    message says what to do."""


class PublishRefused(BrokerError):
    def __init__(self, topic, reason):
        self.topic = topic
        self.reason = reason
        super().__init__(f"the broker refused the message to {topic}: {reason}")


@dataclasses.dataclass
class BrokerOptions:
    host: str
    port: int
    tls: bool = False
    ca: str | None = None
    user: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def make(cls, url, ca=None, user=None, password_file=None):
        """From `--mqtt URL --mqtt-ca FILE --mqtt-user U --mqtt-password-file F`.
        mqtt://host[:1883], mqtts://host[:8883] (TLS; --mqtt-ca makes TLS too)."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise BrokerError(f"--mqtt {url!r}: expected mqtt://HOST[:PORT] or "
                              "mqtts://HOST[:PORT] (TLS)")
        try:
            port = parts.port or DEFAULT_PORTS[parts.scheme]
        except ValueError:
            raise BrokerError(f"--mqtt {url!r}: the port is not a number in 1..65535") \
                from None
        if parts.username or parts.password:
            raise BrokerError(f"--mqtt {parts.hostname}: give the user with --mqtt-user and "
                              "the password in a file with --mqtt-password-file, not in the "
                              "URL (it would show in the process list)")
        if ca is not None and not Path(ca).is_file():
            raise BrokerError(f"--mqtt-ca {ca}: no such file (the broker's CA certificate, "
                              "PEM)")
        password = read_password(password_file) if password_file else None
        if password is not None and not user:
            raise BrokerError("--mqtt-password-file needs --mqtt-user")
        return cls(parts.hostname, port, parts.scheme == "mqtts" or ca is not None, ca, user,
                   password)

    def client(self, identifier, will=None, clean_start=True, session_expiry=0, **kw):
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = session_expiry
        tls = None
        if self.tls:
            context = ssl.create_default_context(cafile=self.ca)
            tls = {"tls_context": context}
        return AckClient(self.host, self.port, username=self.user, password=self.password,
                         identifier=identifier, protocol=aiomqtt.ProtocolVersion.V5,
                         will=will, clean_start=clean_start, properties=properties,
                         **(tls or {}), **kw)

    @property
    def url(self):
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def read_password(path):
    p = Path(path)
    try:
        info = p.stat()
        text = p.read_text().strip()
    except OSError as error:
        raise BrokerError(f"--mqtt-password-file {path}: {error.strerror}") from None
    if info.st_mode & 0o077:
        raise BrokerError(f"--mqtt-password-file {path} is open to others (mode "
                          f"{stat.S_IMODE(info.st_mode):04o}): 'chmod 600 {path}'")
    if not text:
        raise BrokerError(f"--mqtt-password-file {path} is empty")
    return text


def json_properties():
    """PUBLISH properties of a JSON payload (MQTT 5 content type)."""
    p = Properties(PacketTypes.PUBLISH)
    p.ContentType = "application/json"
    p.PayloadFormatIndicator = 1
    return p


def binary_properties(**user):
    p = Properties(PacketTypes.PUBLISH)
    p.ContentType = "application/octet-stream"
    if user:
        p.UserProperty = [(k, str(v)) for k, v in user.items()]
    return p


class AckClient(aiomqtt.Client):
    """aiomqtt's client, whose publish_acked raises PublishRefused when the broker's PUBACK
    carries a failure reason code (aiomqtt's publish does not say)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self._refused = {}

    def _on_publish(self, client, userdata, mid, reason_code, properties):
        if reason_code is not None and getattr(reason_code, "is_failure", False):
            self._refused[mid] = str(reason_code)
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def publish_acked(self, topic, payload, qos=1, retain=False, properties=None,
                            timeout=None):
        """Publish and wait for the broker's acknowledgement (QoS 1: its PUBACK)."""
        info = self._client.publish(topic, payload, qos, retain, properties)
        if info.rc != 0:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        if not info.is_published():
            confirmation = asyncio.Event()
            with self._pending_call(info.mid, confirmation, self._pending_publishes):
                await self._wait_for(confirmation.wait(), timeout=timeout)
        reason = self._refused.pop(info.mid, None)
        if reason is not None:
            raise PublishRefused(topic, reason)


def describe_error(error, options):
    """One line for an MQTT failure, with what to do."""
    text = str(error) or type(error).__name__
    low = text.lower()
    if isinstance(error, PublishRefused):
        return (f"the broker refused user {options.user or '(none)'} a message to "
                f"{error.topic} ({error.reason}): check that --region and --hospital are "
                "this hospital's and match its MQTT credentials (docs/fleet.md, Security)")
    if "not authori" in low or "bad user name or password" in low or "code:5" in low \
            or "code:4" in low or "code:135" in low or "code:134" in low:
        return (f"the broker {options.url} refused the credentials of user "
                f"{options.user or '(none)'}: {text}; check --mqtt-user and "
                "--mqtt-password-file (docs/fleet.md, Security)")
    if isinstance(error, (ssl.SSLError, ssl.CertificateError)) or "certificate" in low:
        return (f"TLS to {options.url} failed: {text}; check --mqtt-ca (the CA that signed "
                "the broker's certificate) and that the URL's host is the certificate's name")
    return (f"cannot reach the broker {options.url}: {text}; check --mqtt and the network "
            "(retrying)")
