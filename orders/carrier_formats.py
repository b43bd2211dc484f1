"""The carriers staff pick in the ship dialog, their services, and the tracking-number formats they publish.

A format is checked only where the carrier documents one; any other carrier ("other") takes free text.
Patterns follow the carriers' published formats (UPS 1Z + 16, USPS IMpb 20-22 digits or S10
international, FedEx 12/15/20/22 digits, DHL Express 10 digits or eCommerce GM/JJD/LX/RX).
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Carrier:
    code: str
    label: str
    services: tuple[str, ...]
    pattern: str | None  # a full-match regex on the upper-cased number without spaces; None: free text
    example: str = ""


CARRIERS = (
    Carrier("ups", "UPS", ("UPS Ground", "UPS 2nd Day Air", "UPS Next Day Air", "UPS Worldwide Expedited"),
            r"1Z[0-9A-Z]{16}", "1Z999AA10123456784"),
    Carrier("usps", "USPS", ("USPS Ground Advantage", "Priority Mail", "Priority Mail Express",
                             "First-Class Package International"),
            r"(?:\d{20}|\d{22}|[A-Z]{2}\d{9}US)", "9400111899223197428490"),
    Carrier("fedex", "FedEx", ("FedEx Ground", "FedEx Home Delivery", "FedEx 2Day", "FedEx Standard Overnight",
                               "FedEx International Priority"),
            r"(?:\d{12}|\d{15}|\d{20}|\d{22})", "123456789012"),
    Carrier("dhl", "DHL", ("DHL Express Worldwide", "DHL Express 12:00", "DHL eCommerce Parcel"),
            r"(?:\d{10}|JJD\d{18,20}|GM\d{16,18}|[LR]X\d{9}[A-Z]{2})", "1234567890"),
    Carrier("other", "Other carrier", (), None),
)
BY_CODE = {carrier.code: carrier for carrier in CARRIERS}
# How carriers spell themselves. Shipments store the carrier lower-cased (the tracking providers' codes).
CARRIER_NAMES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "dhlexpress": "DHL Express",
                 "canadapost": "Canada Post", "royalmail": "Royal Mail", "ontrac": "OnTrac"}


def carrier_label(code: str) -> str:
    """A stored carrier code as people read it: the carrier's own spelling where known, else the typed name in
    title case ("speedy couriers" -> "Speedy Couriers"), never shouted at the customer."""
    code = (code or "").strip()
    return CARRIER_NAMES.get(code.lower(), code.upper() if len(code) <= 4 else code.title())


def normalized_tracking(number: str) -> str:
    return "".join((number or "").split()).upper()


def tracking_error(carrier_code: str, number: str) -> str | None:
    """Why `number` is not a tracking number of that carrier, or None when it is (or no format is known)."""
    carrier = BY_CODE.get((carrier_code or "").lower())
    cleaned = normalized_tracking(number)
    if not cleaned:
        return "Enter the tracking number."
    if carrier is None or carrier.pattern is None:
        return None
    if re.fullmatch(carrier.pattern, cleaned):
        return None
    return f"This is not a {carrier.label} tracking number (for example {carrier.example})."
