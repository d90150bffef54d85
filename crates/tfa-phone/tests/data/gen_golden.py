#!/usr/bin/env python3
"""Generates golden.tsv: libphonenumber's own answers for tfa-phone's tests to agree with.

How it was made (offline, at development time only; the tests never run Python):

    python3 -m venv /tmp/pn && /tmp/pn/bin/pip install phonenumbers==9.0.42
    /tmp/pn/bin/python crates/tfa-phone/tests/data/gen_golden.py > crates/tfa-phone/tests/data/golden.tsv

`phonenumbers` is the Python port of Google's libphonenumber; 9.0.42 carries the same metadata
release (v9.0.42) as the pinned `rlibphonenumber`, so a disagreement is a parsing or validation
difference, not newer data.

For every region and every number type with an example number, and for every non-geographic
calling code, it writes several forms of the number: E.164, international, national (with the
region as default), RFC 3966 with an extension, and the product's stored format
`<cc> <national number> [<extension>]`. It adds libphonenumber's invalid example of each region
and two near misses of every example (one digit dropped, one digit added), whose validity is
whatever libphonenumber says. Every expectation is computed by libphonenumber on the input as
written; for the stored form, on the number built from exactly those digits (tfa-phone strips no
national prefix from stored numbers).

Columns: form, input, default region ("-" for none), valid ("true"/"false"), E.164 ("-" when
invalid), kind (tfa-phone's kebab-case names), region ("-" when non-geographic or invalid).
"""
import sys

import phonenumbers as pn
from phonenumbers import PhoneNumberFormat as Fmt
from phonenumbers import PhoneNumberType as T

KINDS = {
    T.FIXED_LINE: "fixed-line",
    T.MOBILE: "mobile",
    T.FIXED_LINE_OR_MOBILE: "fixed-line-or-mobile",
    T.TOLL_FREE: "toll-free",
    T.PREMIUM_RATE: "premium-rate",
    T.SHARED_COST: "shared-cost",
    T.VOIP: "voip",
    T.PERSONAL_NUMBER: "personal-number",
    T.PAGER: "pager",
    T.UAN: "uan",
    T.VOICEMAIL: "voicemail",
    T.UNKNOWN: "unknown",
}
EXAMPLE_TYPES = [t for t in KINDS if t not in (T.FIXED_LINE_OR_MOBILE, T.UNKNOWN)]

rows = []
seen = set()


def answer(number):
    """libphonenumber's verdict on a parsed number: (valid, e164, kind, region)."""
    if not pn.is_valid_number(number):
        return ("false", "-", "-", "-")
    region = pn.region_code_for_number(number)
    region = "-" if region in (None, "001", "ZZ") else region
    return ("true", pn.format_number(number, Fmt.E164), KINDS[pn.number_type(number)], region)


def add(form, text, default_region):
    key = (form, text, default_region)
    if key in seen or "\t" in text:
        return
    seen.add(key)
    try:
        verdict = answer(pn.parse(text, None if default_region == "-" else default_region))
    except pn.NumberParseException:
        verdict = ("false", "-", "-", "-")
    rows.append((form, text, default_region) + verdict)


def stored_number(cc, nsn):
    """The number tfa-phone builds from a stored `<cc> <nsn>`: the digits exactly as written."""
    number = pn.PhoneNumber(country_code=cc, national_number=int(nsn))
    zeros = len(nsn) - len(nsn.lstrip("0"))
    if len(nsn) > 1 and zeros:
        zeros = zeros - 1 if zeros == len(nsn) else zeros
        number.italian_leading_zero = True
        if zeros > 1:
            number.number_of_leading_zeros = zeros
    return number


def add_stored(cc, nsn, extension=None):
    text = f"{cc} {nsn}" + (f" {extension}" if extension else "")
    key = ("stored", text, "-")
    if key in seen:
        return
    seen.add(key)
    rows.append(("stored", text, "-") + answer(stored_number(cc, nsn)))


def nsn_of(number):
    return pn.national_significant_number(number)


def add_forms(number, region):
    cc, nsn = number.country_code, nsn_of(number)
    add("e164", pn.format_number(number, Fmt.E164), "-")
    add("international", pn.format_number(number, Fmt.INTERNATIONAL), "-")
    if region != "-":
        add("national", pn.format_number(number, Fmt.NATIONAL), region)
    with_ext = pn.PhoneNumber(country_code=cc, national_number=number.national_number,
                              italian_leading_zero=number.italian_leading_zero,
                              number_of_leading_zeros=number.number_of_leading_zeros,
                              extension="292")
    add("rfc3966", pn.format_number(with_ext, Fmt.RFC3966), "-")
    add_stored(cc, nsn)
    add_stored(cc, nsn, "292")
    # Near misses: libphonenumber decides whether they are still valid.
    if len(nsn) > 2:
        add_stored(cc, nsn[:-1])
        add("e164", f"+{cc}{nsn[:-1]}", "-")
    add_stored(cc, nsn + "5")
    add("e164", f"+{cc}{nsn}5", "-")


def main():
    for region in sorted(pn.SUPPORTED_REGIONS):
        for kind in EXAMPLE_TYPES:
            number = pn.example_number_for_type(region, kind)
            if number is not None:
                add_forms(number, region)
        invalid = pn.invalid_example_number(region)
        if invalid is not None:
            add("e164", pn.format_number(invalid, Fmt.E164), "-")
            add_stored(invalid.country_code, nsn_of(invalid))
    for cc in sorted(pn.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = pn.example_number_for_non_geo_entity(cc)
        if number is not None:
            add_forms(number, "-")
    out = sys.stdout
    out.write(f"# libphonenumber answers from phonenumbers {pn.__version__}; made by gen_golden.py\n")
    out.write("form\tinput\tdefault_region\tvalid\te164\tkind\tregion\n")
    for row in rows:
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main()
