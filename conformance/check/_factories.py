"""Rule factories shared by the v1 and v2 rule modules: code lists, blanks, date formats and floors, date order,
reference-data look-ups. Each takes item ids, so one factory serves a v1 date and the v2 timestamp that replaced it.

A factory is called once per check with the Setup; the function it returns runs once per record.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from conformance.calendar import local_day, parse_date, parse_timestamp
from conformance.check._rows import Hit, Row, RuleFn, Setup

Factory = Callable[[Setup], RuleFn]
DayReader = Callable[[Row], "date | None"]


def is_timestamp_item(item: str) -> bool:
    return item.endswith("_timestamp")


def day_reader(s: Setup, item: str) -> DayReader:
    """The calendar day an item gives: a CCYY-MM-DD date as written, or a v2 timestamp's day on the UK clock
    (23:30Z in summer is 00:30 the next day in England; dids-v2.md §4.3 says comparisons take the offset into
    account). Blank or malformed values give None; the format rules report those."""
    i = s.pos(item)
    if not is_timestamp_item(item):
        return lambda r: parse_date(r.v[i])

    def read(r: Row) -> date | None:
        moment = parse_timestamp(r.v[i])
        return None if moment is None else local_day(moment)

    return read


def codes(s: Setup, item: str) -> frozenset[str]:
    codelist = s.pack.codelist_for(item)
    assert codelist is not None, item
    return codelist.codes(s.profile)


def defaults(s: Setup, codelist: str) -> frozenset[str]:
    return frozenset(c.upper() for c in s.pack.codelists[codelist].codes(s.profile))


def in_codes(item: str, required: bool = False) -> Factory:
    """A value that is present must be one of the item's code list (for this profile)."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        allowed = codes(s, item)

        def check(r: Row) -> Hit | None:
            value = r.v[i]
            if not value:
                return Hit(item, value) if required else None
            return None if value in allowed else Hit(item, value)

        return check

    return factory


def blank(item: str) -> Factory:
    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        return lambda r: Hit(item, r.v[i]) if not r.v[i] else None

    return factory


def well_formed(item: str, valid: Callable[[str], bool]) -> Factory:
    """A present value must pass `valid` (a blank passes: the mandation rules report those)."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        return lambda r: Hit(item, r.v[i]) if r.v[i] and not valid(r.v[i]) else None

    return factory


def date_format(item: str) -> Factory:
    return well_formed(item, lambda value: parse_date(value) is not None)


def not_before(item: str, floor: date) -> Factory:
    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        read = day_reader(s, item)

        def check(r: Row) -> Hit | None:
            day = read(r)
            return Hit(item, r.v[i]) if day is not None and day < floor else None

        return check

    return factory


def order(earlier: str, later: str, slack: Callable[[date], date] | None = None, field: str | None = None) -> Factory:
    """`earlier`'s day must not be after `later`'s (after `slack(later)` when given); blank or bad values pass."""

    def factory(s: Setup) -> RuleFn:
        at = field or earlier
        k = s.pos(at)
        if not is_timestamp_item(earlier) and not is_timestamp_item(later):
            # Two plain dates (every v1 pair): read them inline; this runs for every record.
            a, b = s.pos(earlier), s.pos(later)

            def check_dates(r: Row) -> Hit | None:
                v = r.v
                first, second = parse_date(v[a]), parse_date(v[b])
                if first is None or second is None:
                    return None
                return Hit(at, v[k]) if first > (slack(second) if slack else second) else None

            return check_dates
        first_of, second_of = day_reader(s, earlier), day_reader(s, later)

        def check(r: Row) -> Hit | None:
            first, second = first_of(r), second_of(r)
            if first is None or second is None:
                return None
            limit = slack(second) if slack else second
            return Hit(at, r.v[k]) if first > limit else None

        return check

    return factory


def organisation(item: str, role: str, default_list: str) -> Factory:
    """A present code that is not a default must be a known organisation with `role`."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        orgs = s.reference.organisations or {}
        allowed = defaults(s, default_list)

        def check(r: Row) -> Hit | None:
            value = r.v[i].upper()
            if not value or value in allowed:
                return None
            org = orgs.get(value)
            return None if org is not None and role in org.roles else Hit(item, r.v[i])

        return check

    return factory


def active(item: str, role: str, default_list: str, on: tuple[str, ...]) -> Factory:
    """A warning when a known organisation is not open on the first valid day among `on`."""

    def factory(s: Setup) -> RuleFn:
        i = s.pos(item)
        readers = [day_reader(s, d) for d in on]
        orgs = s.reference.organisations or {}
        allowed = defaults(s, default_list)

        def check(r: Row) -> Hit | None:
            value = r.v[i].upper()
            org = orgs.get(value)
            if org is None or value in allowed or role not in org.roles:
                return None
            day = next((d for d in (read(r) for read in readers) if d is not None), None)
            return Hit(item, r.v[i]) if day is not None and not org.period.active(day) else None

        return check

    return factory
