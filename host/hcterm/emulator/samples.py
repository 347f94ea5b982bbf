"""The emulator's sample cards, SAMs and blacklist (files in the `samples/` folder).

paths()          sorted card image paths; the first is the adult with full data and a photo
sam()            a fresh PSAM of the samples' issuer (Henan, province 41): authenticates them
pin_sam()        the same issuer's PSAM that wants VERIFY PIN 123456 first
foreign_sam()    a PSAM of another province (Sichuan, 51): the cards refuse its cryptograms
blacklist_path() the sample blacklist (one ID number per line, # comments)
"""

from pathlib import Path

from .sam import load_sam

SAMPLES_DIR = Path(__file__).with_name("samples")


def paths():
    return sorted(SAMPLES_DIR.glob("card-*.json"))


def sam():
    return load_sam(SAMPLES_DIR / "sam-henan.json")


def pin_sam():
    return load_sam(SAMPLES_DIR / "sam-henan-pin.json")


def foreign_sam():
    return load_sam(SAMPLES_DIR / "sam-sichuan.json")


def blacklist_path():
    return SAMPLES_DIR / "blacklist.txt"
