"""The emulator's sample cards, SAMs and blacklist (files in the `samples/` folder).

paths()          sorted card image paths; the first is the adult with full data and a photo
sam()            a fresh PSAM of the samples' issuer (Henan, province 41): authenticates them
fast_sam()       the same issuer's PSAM whose ATR offers F=372/D=12 (115 200 baud at 3.5712
                 MHz; sam() offers 372/4, 38 400 baud)
pin_sam()        the same issuer's PSAM that wants VERIFY PIN 123456 first
foreign_sam()    a PSAM of another province (Sichuan, 51): the cards refuse its cryptograms
blacklist_path() the sample blacklist (one ID number per line, # comments)
DEMO_PLATFORM_KEY the private SM2 key the demo and the tests sign sample lists with, as the
                 card management platform would; public, so it protects nothing: a real
                 reader is provisioned with its platform's public key (docs/blacklist-format.md)
"""

from pathlib import Path

from .sam import load_sam

SAMPLES_DIR = Path(__file__).with_name("samples")


def paths():
    return sorted(SAMPLES_DIR.glob("card-*.json"))


def sam():
    return load_sam(SAMPLES_DIR / "sam-henan.json")


def fast_sam():
    return load_sam(SAMPLES_DIR / "sam-henan-fast.json")


def pin_sam():
    return load_sam(SAMPLES_DIR / "sam-henan-pin.json")


def foreign_sam():
    return load_sam(SAMPLES_DIR / "sam-sichuan.json")


def blacklist_path():
    return SAMPLES_DIR / "blacklist.txt"


DEMO_PLATFORM_KEY = "835a67c33cfd6a8abeca7745e5e4e875cdd7a5aefd7e374caa8a838aa840a3ce"
DEMO_PUBLIC_KEY = ("581fdb3b8d9c0fa523e7efdd5a7f50a1401014960af798b26fe86ccbb8af2eec"
                   "67a3e523de853c433f54723e5e904a9d2fd11b476dd135b5cad693689f775c56")
