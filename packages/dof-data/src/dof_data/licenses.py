"""Flickr's licence ids (the ``license`` extra and search argument) and what each allows.

The table is what ``flickr.photos.licenses.getInfo`` returned for ids 0-10 for many years. Flickr
adds ids from time to time (the Creative Commons 4.0 licences in 2025), so a scrape also asks the
API for its current table and stores it in the manifest; :func:`license_info` prefers that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class License:
    """One Flickr licence.

    Attributes:
        id: Flickr's numeric id, as text ("4").
        name: short name ("CC BY 2.0").
        url: the licence text, or "" when there is none (All Rights Reserved).
    """

    id: str
    name: str
    url: str

    @property
    def redistributable(self) -> bool:
        """True when a derivative (a crop, a render) may be shared: not ARR, no ND clause, known."""
        if self.id in ("", "0") or self.name.startswith("Flickr licence id"):
            return False
        name = self.name.replace(" ", "-")
        return "-ND" not in name and "NoDerivs" not in name and "Reserved" not in name

    @property
    def commercial(self) -> bool:
        """True when the licence also allows commercial use (no NC clause)."""
        return self.redistributable and "NC" not in self.name and "NonCommercial" not in self.name


FLICKR_LICENSES: dict[str, License] = {
    lic.id: lic
    for lic in (
        License("0", "All Rights Reserved", ""),
        License("1", "CC BY-NC-SA 2.0", "https://creativecommons.org/licenses/by-nc-sa/2.0/"),
        License("2", "CC BY-NC 2.0", "https://creativecommons.org/licenses/by-nc/2.0/"),
        License("3", "CC BY-NC-ND 2.0", "https://creativecommons.org/licenses/by-nc-nd/2.0/"),
        License("4", "CC BY 2.0", "https://creativecommons.org/licenses/by/2.0/"),
        License("5", "CC BY-SA 2.0", "https://creativecommons.org/licenses/by-sa/2.0/"),
        License("6", "CC BY-ND 2.0", "https://creativecommons.org/licenses/by-nd/2.0/"),
        License("7", "No known copyright restrictions", "https://www.flickr.com/commons/usage/"),
        License("8", "United States Government Work", "http://www.usa.gov/copyright.shtml"),
        License("9", "CC0 1.0", "https://creativecommons.org/publicdomain/zero/1.0/"),
        License(
            "10", "Public Domain Mark 1.0", "https://creativecommons.org/publicdomain/mark/1.0/"
        ),
    )
}

#: Licences that allow sharing a derivative with attribution, commercial use included.
OPEN_LICENSE_IDS = ("4", "5", "7", "8", "9", "10")


def license_info(license_id: str | None, table: Mapping[str, License] | None = None) -> License:
    """The licence for ``license_id``: from ``table`` (the API's answer) first, then the built-in
    table; an unknown id gets a name that says to look it up, and None means not known at all."""
    if license_id is None or license_id == "":
        return License("", "unknown licence", "")
    if table and license_id in table:
        return table[license_id]
    if license_id in FLICKR_LICENSES:
        return FLICKR_LICENSES[license_id]
    return License(
        license_id, f"Flickr licence id {license_id} (see flickr.photos.licenses.getInfo)", ""
    )
