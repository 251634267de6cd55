"""How NHS England's DSP sees a DIDS v1 value: the Spark semantics that profile `v1-dsp` follows.

The DSP (nhsengland/Reusable-Code-Library, `src/dsp` and `src/nhs_dq_rules_library/business_rules/dids`, read at
HEAD 4009bd5, see docs/sources/README.md [DSP]) loads a CSV with Spark, trims the listed fields and then runs each
rule as a Spark column expression. Those expressions decide some values differently from the rule text, and a
trust's file meets the DSP, not the rule text. This module states each such behaviour once, as plain functions:

- CSV loading: an empty field is null; any other value is kept as read (Spark's CSV reader neither trims nor
  unquotes further), so a field of spaces is not null but, once trimmed, the empty string.
- Cleansing (`CleanseDataFrameStage`): `trim` removes spaces (U+0020) only, never a TAB or a no-break space;
  the NHS number then loses every `[\\s-]` (Java's `\\s`: space, TAB, LF, VT, FF, CR).
- Regular expressions are Java's: `\\d` and `\\s` are ASCII; `rlike` searches, so every DSP pattern is anchored.
- Dates: the format rules match `YYYY_MM_DD_PATTERN`, which lets 00 through as a day of February; comparisons
  guarded by that pattern also cast the text to a date, and day 00 casts to null, so such a date is never
  compared. Three rules (DIDS010, DIDS028, DIDS040) have no pattern guard and cast whatever text they are given
  as Spark's string-to-date cast does (`2017`, `2019-06`, `2017-1-1`, `2017-01-01T…` are all dates to it).
- Month arithmetic is Spark's `months_between`, `last_day` and `add_months`.

Dates here are (year, month, day) tuples, because Spark's dates run from year 0 past 9999 where Python's stop.
"""

from __future__ import annotations

import re
from functools import lru_cache

from conformance.identifiers import is_valid_nhs_number, nhs_number_check_digit

SparkDate = tuple[int, int, int]

# Spark's trim (UTF8String.trim) strips the space character only.
SPARK_TRIM = " "
# EXTRA_FIELD_CLEANSING for NHS_NUMBER: regexp_replace(x, "[\s-]*", "") with Java's ASCII \s.
NHS_NUMBER_CLEANSE = re.compile(r"[ \t\n\x0b\f\r-]+")

# dsp/common/regex_patterns.py YYYY_MM_DD_PATTERN, restated (not copied): four ASCII digits, a month, and a day
# valid for that month, with February allowing 00-28 and the 29th in the leap years the pattern knows.
_LONG_MONTH = r"(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
_SHORT_MONTH = r"(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
_FEBRUARY = r"02-(?:[01][0-9]|2[0-8])"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|2000)"
# Java's `$` also matches before one line terminator that ends the text.
_JAVA_END = "(?:\r\n|[\n\r\u0085\u2028\u2029])?\\Z"
_DSP_DATE = re.compile(rf"^(?:[0-9]{{4}}-(?:{_LONG_MONTH}|{_SHORT_MONTH}|{_FEBRUARY})|{_LEAP_YEAR}-02-29){_JAVA_END}")
# Spark's string-to-date cast (DateTimeUtils.stringToDate): optional sign, a year of 4-7 digits, then optionally
# -[m]m and -[m]m-[d]d, and after a full date anything that starts with a space or a T.
_SPARK_CAST = re.compile(r"^([+-]?)([0-9]{4,7})(?:-([0-9]{1,2})(?:-([0-9]{1,2})(?:[ T].*)?)?)?\Z", re.DOTALL)


def dsp_values(raw: tuple[str, ...], nhs_number: int) -> list[str]:
    """The values the DSP's rules see: trimmed of spaces only, the NHS number cleansed. (A value of spaces only
    becomes "" here, yet the DSP tells it from an empty field, which is null: DIDS014 and the uniqueness rule read
    `Row.raw` for that.) Runs once per record: kept to C-level calls."""
    values = list(map(str.strip, raw, _SPACES[: len(raw)]))
    number = values[nhs_number]
    if not number.isdigit():
        values[nhs_number] = NHS_NUMBER_CLEANSE.sub("", number)
    return values


_SPACES = (SPARK_TRIM,) * 64


def is_null(raw: str) -> bool:
    """Spark's CSV reader reads an empty field (quoted or not) as null."""
    return raw == ""


def dsp_nhs_number_valid(value: str) -> bool:
    """dsp/udfs/misc.py is_valid_nhs_number: ten digits (Python's isdigit, as the UDF runs in Python), not a
    palindrome of its first and last five digits, and the modulus-11 check digit. The comment beside the
    palindrome test says it is disabled; the code runs it."""
    if value.isascii():
        return value[:5] != value[-5:][::-1] and is_valid_nhs_number(value)
    # Non-ASCII digits the UDF's isdigit and int() both accept (e.g. Arabic-Indic) count; any other character
    # (a superscript two is isdigit but not int()-able, which would fail the DSP's UDF) does not.
    if len(value) != 10 or not value.isdecimal() or value[:5] == value[-5:][::-1]:
        return False
    return nhs_number_check_digit("".join(str(int(c)) for c in value[:9])) == int(value[9])


@lru_cache(maxsize=65536)
def pattern_date(text: str) -> SparkDate | None:
    """A date as the DSP's pattern-guarded comparisons read it: the text matches YYYY_MM_DD_PATTERN and Spark
    casts it to a date. Day 00 of February passes the pattern (see pattern_matches) but casts to null."""
    if not _DSP_DATE.match(text):
        return None
    y, m, d = int(text[:4]), int(text[5:7]), int(text[8:10])
    return (y, m, d) if d >= 1 else None


def pattern_matches(text: str) -> bool:
    """The DSP's date format rules (DIDS005/026/036/045/061): YYYY_MM_DD_PATTERN, day 00 of February included."""
    return _DSP_DATE.match(text) is not None


@lru_cache(maxsize=65536)
def cast_date(text: str) -> SparkDate | None:
    """Spark's string-to-date cast, for the rules that compare dates with no pattern guard. The text is trimmed
    of white space and control characters first (UTF8String.trimAll)."""
    match = _SPARK_CAST.match(text.strip("".join(map(chr, range(33)))))
    if match is None:
        return None
    sign, year, month, day = match.groups()
    y = -int(year) if sign == "-" else int(year)
    m, d = int(month or 1), int(day or 1)
    if not 1 <= m <= 12 or not 1 <= d <= days_in_month(y, m):
        return None
    return (y, m, d)


def is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def day_number(day: SparkDate) -> int:
    """Days since 1970-01-01 on the proleptic Gregorian calendar, for any year (Spark's epoch day)."""
    y, m, d = day
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def from_day_number(n: int) -> SparkDate:
    """The inverse of day_number (days since 1970-01-01 to a proleptic Gregorian date)."""
    z = n + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (yoe + era * 400 + (m <= 2), m, d)


def last_day(day: SparkDate) -> SparkDate:
    return (day[0], day[1], days_in_month(day[0], day[1]))


def add_months(day: SparkDate, months: int) -> SparkDate:
    """Spark 3's add_months: the same day of the month, or the month's last day when it has no such day."""
    total = day[0] * 12 + day[1] - 1 + months
    y, m = divmod(total, 12)
    return (y, m + 1, min(day[2], days_in_month(y, m + 1)))


def months_between(later: SparkDate, earlier: SparkDate) -> float:
    """Spark's months_between(later, earlier) for two dates: whole months when both fall on the same day of the
    month or both on a month's last day; otherwise the day difference over 31 is added. Rounded to 8 places."""
    whole = (later[0] - earlier[0]) * 12 + later[1] - earlier[1]
    if later[2] == earlier[2] or (later == last_day(later) and earlier == last_day(earlier)):
        return float(whole)
    return round(whole + (later[2] - earlier[2]) / 31, 8)
