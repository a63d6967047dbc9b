"""Rules for editions, booths and exhibitors; the web views, the API, the importer and the
public registration page all come through here. These functions commit."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from crm.exceptions import Conflict, ValidationFailed
from crm.expo.models import MODES, STATUSES, Booth, Event, Exhibitor
from crm.expo.vocab import NEEDS_REASON, TRANSITIONS, status_label
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations import services as organizations
from crm.organizations.models import Contact, Organization
from crm.timeutil import local_today, utcnow

EVENT_FIELDS = ("name_zh", "name_en", "starts_on", "ends_on", "venue", "halls",
                "registration_deadline", "public_registration_open")
EXHIBITOR_FIELDS = ("mode", "exhibits", "intended_deal_wan", "contact_id")
MAX_DEAL_WAN = Decimal("999999999999.99")
MAX_BOOTHS_AT_ONCE = 500


def _fail(field: str, message: str):
    raise ValidationFailed(message, {field: message})


def _text(value, max_length: int | None = None, field: str = "") -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else value
    if value and max_length and len(value) > max_length:
        _fail(field, _("At most %(n)d characters.", n=max_length))
    return value or None


# Editions ---------------------------------------------------------------------------------

def _event_data(fields: dict, current: Event | None = None) -> dict:
    unknown = set(fields) - set(EVENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    data = dict(fields)
    for key, length in (("name_zh", 255), ("name_en", 255), ("venue", 255), ("halls", 255)):
        if key in data:
            data[key] = _text(data[key], length, key)
    merged = {k: data.get(k, getattr(current, k, None)) for k in EVENT_FIELDS}
    if not merged["name_zh"]:
        _fail("name_zh", _("This field is required."))
    for key in ("starts_on", "ends_on"):
        if not isinstance(merged[key], date):
            _fail(key, _("This field is required."))
    if merged["ends_on"] < merged["starts_on"]:
        _fail("ends_on", _("The expo cannot end before it starts."))
    deadline = merged["registration_deadline"]
    if deadline is not None and deadline > merged["ends_on"]:
        _fail("registration_deadline", _("The registration deadline must be before the end."))
    if "halls" in data and data["halls"]:
        data["halls"] = ", ".join(h.strip() for h in re.split(r"[,，、;；]", data["halls"])
                                  if h.strip())
    return data


def create_event(**fields) -> Event:
    data = _event_data(fields)
    event = Event(**data)
    event.year = event.starts_on.year
    db.session.add(event)
    db.session.commit()
    return event


def update_event(event: Event, **fields) -> Event:
    data = _event_data(fields, current=event)
    for key, value in data.items():
        setattr(event, key, value)
    event.year = event.starts_on.year
    db.session.commit()
    return event


def registration_open(event: Event) -> bool:
    """The public page accepts applications while open and before the deadline (local date)."""
    if not event.public_registration_open:
        return False
    deadline = event.registration_deadline or event.ends_on
    return local_today() <= deadline


# Booths -----------------------------------------------------------------------------------

_RANGE = re.compile(r"^([A-Za-z]*[-_]?)(\d+)\s*[-~–]\s*(?:\1)?(\d+)$")


def expand_booth_codes(text: str) -> list[str]:
    """"A01-A20, B1, B2" → A01 … A20, B1, B2 (zero padding kept)."""
    codes: list[str] = []
    for part in re.split(r"[,，;；\s]+", text or ""):
        if not part:
            continue
        match = _RANGE.match(part)
        if match:
            prefix, first, last = match.groups()
            start, end = int(first), int(last)
            if end < start or end - start >= MAX_BOOTHS_AT_ONCE:
                _fail("codes", _("Invalid range %(range)s.", range=part))
            codes += [f"{prefix}{n:0{len(first)}d}" for n in range(start, end + 1)]
        else:
            codes.append(part)
    if len(codes) > MAX_BOOTHS_AT_ONCE:
        _fail("codes", _("At most %(n)d booths at once.", n=MAX_BOOTHS_AT_ONCE))
    if any(len(code) > 32 for code in codes):
        _fail("codes", _("A booth code has at most 32 characters."))
    return codes


def _area(value) -> Decimal:
    try:
        area = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        _fail("area_m2", _("Not a number."))
    if not area.is_finite() or area <= 0 or area >= Decimal("1000000"):
        _fail("area_m2", _("Give the area in m² (more than 0)."))
    return area


def add_booths(event: Event, *, hall: str, codes: str, area_m2) -> list[Booth]:
    hall = _text(hall, 64, "hall")
    if not hall:
        _fail("hall", _("This field is required."))
    wanted = expand_booth_codes(codes)
    if not wanted:
        _fail("codes", _("This field is required."))
    area = _area(area_m2)
    taken = set(db.session.scalars(select(Booth.code).where(Booth.event_id == event.id,
                                                            Booth.code.in_(wanted))))
    repeated = sorted(taken | {c for c in wanted if wanted.count(c) > 1})
    if repeated:
        _fail("codes", _("These booths already exist: %(codes)s", codes=", ".join(repeated)))
    booths = [Booth(event_id=event.id, hall=hall, code=code, area_m2=area) for code in wanted]
    db.session.add_all(booths)
    db.session.commit()
    return booths


def update_booth(booth: Booth, *, hall: str, code: str, area_m2) -> Booth:
    hall, code = _text(hall, 64, "hall"), _text(code, 32, "code")
    if not hall or not code:
        _fail("hall" if not hall else "code", _("This field is required."))
    clash = db.session.scalar(select(Booth.id).where(Booth.event_id == booth.event_id,
                                                     Booth.code == code, Booth.id != booth.id))
    if clash:
        _fail("code", _("These booths already exist: %(codes)s", codes=code))
    booth.hall, booth.code, booth.area_m2 = hall, code, _area(area_m2)
    db.session.commit()
    return booth


def delete_booth(booth: Booth) -> None:
    holder = db.session.scalar(select(Exhibitor.id).where(Exhibitor.event_id == booth.event_id,
                                                          Exhibitor.booth_id == booth.id))
    if holder is not None:
        raise Conflict(_("This booth is allocated; free it first."), existing_id=holder)
    db.session.delete(booth)
    db.session.commit()


def free_booths(event_id: int) -> list[Booth]:
    """Booths of the edition that no registration holds, by hall and code."""
    held = select(Exhibitor.booth_id).where(Exhibitor.event_id == event_id,
                                            Exhibitor.booth_id.is_not(None))
    return list(db.session.scalars(
        select(Booth).where(Booth.event_id == event_id, Booth.id.not_in(held))
        .order_by(Booth.hall, Booth.code)))


def assign_booth(exhibitor: Exhibitor, booth_id: int | None) -> Exhibitor:
    """Give a registration a booth (or none). The database's unique (edition, booth) key is the
    final word: when another registration took the booth first, this raises Conflict."""
    if booth_id is not None:
        booth = db.session.get(Booth, booth_id)
        if booth is None or booth.event_id != exhibitor.event_id:
            _fail("booth_id", _("This booth is not part of this edition."))
        if exhibitor.status in ("rejected", "withdrawn"):
            _fail("booth_id", _("A rejected or withdrawn registration gets no booth."))
    exhibitor.booth_id = booth_id
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        holder = db.session.scalar(select(Exhibitor).where(
            Exhibitor.event_id == exhibitor.event_id, Exhibitor.booth_id == booth_id))
        name = holder.organization.display_name if holder else "?"
        raise Conflict(_("This booth is already allocated to %(name)s.", name=name),
                       existing_id=holder.id if holder else None,
                       errors={"booth_id": _("This booth is already allocated to %(name)s.",
                                             name=name)}) from None
    return exhibitor


# Exhibitors -------------------------------------------------------------------------------

def parse_deal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        _fail("intended_deal_wan", _("Not a number."))
    if not amount.is_finite() or amount < 0 or amount > MAX_DEAL_WAN:
        _fail("intended_deal_wan", _("Give an amount in 万元, zero or more."))
    if amount != amount.quantize(Decimal("0.01")):
        _fail("intended_deal_wan", _("At most %(n)d decimal places.", n=2))
    return amount.quantize(Decimal("0.01"))


def _exhibitor_data(fields: dict, organization_id: int) -> dict:
    unknown = set(fields) - set(EXHIBITOR_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    data = dict(fields)
    if "mode" in data and data["mode"] not in MODES:
        _fail("mode", _("Unknown participation mode."))
    if "exhibits" in data:
        data["exhibits"] = _text(data["exhibits"], 5000, "exhibits")
    if "intended_deal_wan" in data:
        data["intended_deal_wan"] = parse_deal(data["intended_deal_wan"])
    if data.get("contact_id"):
        contact_org = db.session.scalar(select(Contact.organization_id)
                                        .where(Contact.id == data["contact_id"]))
        if contact_org != organization_id:
            _fail("contact_id", _("The contact must belong to the organisation."))
    elif "contact_id" in data:
        data["contact_id"] = None
    return data


def registration_of(event_id: int, organization_id: int) -> Exhibitor | None:
    return db.session.scalar(select(Exhibitor).where(Exhibitor.event_id == event_id,
                                                     Exhibitor.organization_id == organization_id))


def register_exhibitor(event: Event, *, organization_id: int, source: str = "web",
                       status: str = "applied", **fields) -> Exhibitor:
    """Register an organisation for an edition (once: a second time raises Conflict)."""
    if db.session.get(Organization, organization_id) is None:
        _fail("organization_id", _("Choose an organisation."))
    if status not in STATUSES or status in NEEDS_REASON:
        _fail("status", _("Unknown status."))
    existing = registration_of(event.id, organization_id)
    if existing is not None:
        raise Conflict(_("This organisation is already registered for this edition."),
                       existing_id=existing.id)
    data = _exhibitor_data(fields, organization_id)
    exhibitor = Exhibitor(event_id=event.id, organization_id=organization_id, status=status,
                          source=source, **data)
    if status == "checked_in":
        exhibitor.checked_in_at = utcnow()
    db.session.add(exhibitor)
    try:
        db.session.commit()
    except IntegrityError:  # registered by someone else between our check and the insert
        db.session.rollback()
        existing = registration_of(event.id, organization_id)
        raise Conflict(_("This organisation is already registered for this edition."),
                       existing_id=existing.id if existing else None) from None
    return exhibitor


def update_exhibitor(exhibitor: Exhibitor, **fields) -> Exhibitor:
    data = _exhibitor_data(fields, exhibitor.organization_id)
    for key, value in data.items():
        setattr(exhibitor, key, value)
    db.session.commit()
    return exhibitor


def change_status(exhibitor: Exhibitor, status: str, reason: str | None = None) -> Exhibitor:
    """Move along the workflow (crm.expo.vocab.TRANSITIONS); rejected/withdrawn need a reason.

    A registration that leaves for rejected/withdrawn gives its booth back.
    """
    if status not in TRANSITIONS.get(exhibitor.status, ()):
        _fail("status", _("A registration cannot go from %(old)s to %(new)s.",
                          old=status_label(exhibitor.status), new=status_label(status)))
    reason = _text(reason, 500, "reason")
    if status in NEEDS_REASON and not reason:
        _fail("reason", _("Give a reason."))
    exhibitor.status = status
    exhibitor.status_reason = reason if status in NEEDS_REASON else None
    if status == "checked_in":
        exhibitor.checked_in_at = utcnow()
    elif exhibitor.checked_in_at is not None:
        exhibitor.checked_in_at = None
    if status in NEEDS_REASON:
        exhibitor.booth_id = None
    db.session.commit()
    return exhibitor


def check_in(exhibitor: Exhibitor) -> Exhibitor:
    return change_status(exhibitor, "checked_in")


# Public self-registration ------------------------------------------------------------------

def public_register(event: Event, *, name_zh: str | None, name_en: str | None, country: str,
                    city: str | None, cluster_code: str | None, website: str | None,
                    credit_code: str | None, contact_name: str, contact_title: str | None,
                    contact_email: str, contact_phone: str | None, contact_language: str,
                    mode: str, exhibits: str | None) -> Exhibitor:
    """An application from the public page: an `applied` registration for the organizers.

    The organisation is matched on its credit code or normalised name (the organizers review
    every application and can merge organisations later); otherwise it is created. One
    transaction: nothing is left behind when the registration is refused.
    """
    if not registration_open(event):
        raise ValidationFailed(_("Registration for this edition is closed."))
    org_fields = dict(name_zh=name_zh, name_en=name_en, country=country, city=city,
                      cluster_code=cluster_code or None, website=website,
                      credit_code=credit_code, email=contact_email)
    try:
        # Without a mail address, find_duplicates matches on credit code and name only.
        same = organizations.find_duplicates(name_zh=name_zh, name_en=name_en,
                                             credit_code=credit_code)
        org = same[0] if same else organizations.create_organization(
            allow_duplicate=True, commit=False, **org_fields)
        if registration_of(event.id, org.id) is not None:
            raise Conflict(_("This organisation has already registered for this edition."))
        contact = organizations.add_contact(
            org, commit=False, name=contact_name, title=contact_title, email=contact_email,
            phone=contact_phone, language=contact_language)
    except (ValidationFailed, Conflict):
        db.session.rollback()
        raise
    return register_exhibitor(event, organization_id=org.id, source="public", mode=mode,
                              exhibits=exhibits, contact_id=contact.id)


# Hand-over to the investment leads ------------------------------------------------------------

def lead_of(exhibitor_id: int) -> Project | None:
    return db.session.scalar(select(Project).where(Project.source_exhibitor_id == exhibitor_id)
                             .order_by(Project.id).limit(1))


def hand_over(exhibitor: Exhibitor, *, owner_id: int, name: str | None = None,
              cluster_code: str | None = None, planned_investment_wan=None) -> Project:
    """Turn an exhibitor into an investment lead (source: expo, this edition, this
    registration). Once per registration: a second hand-over raises Conflict naming the lead."""
    from crm.leads.services import create_project

    existing = lead_of(exhibitor.id)
    if existing is not None:
        raise Conflict(_("This exhibitor has already been handed over."), existing_id=existing.id)
    if exhibitor.status in ("rejected", "withdrawn"):
        _fail("status", _("A rejected or withdrawn registration cannot be handed over."))
    org = exhibitor.organization
    return create_project(
        organization_id=org.id,
        name=(name or "").strip() or (org.name_zh or org.name_en),
        cluster_code=cluster_code or org.cluster_code or "other",
        owner_id=owner_id,
        source="expo",
        source_event_id=exhibitor.event_id,
        source_exhibitor_id=exhibitor.id,
        planned_investment_wan=planned_investment_wan or Decimal(0),
    )


def handed_over_ids(exhibitor_ids: list[int]) -> dict[int, int]:
    """{exhibitor id: lead id} for those of the given registrations already handed over."""
    if not exhibitor_ids:
        return {}
    rows = db.session.execute(
        select(Project.source_exhibitor_id, func.min(Project.id))
        .where(Project.source_exhibitor_id.in_(exhibitor_ids))
        .group_by(Project.source_exhibitor_id))
    return dict(rows.all())


# Lists ------------------------------------------------------------------------------------

def exhibitor_query(event_id: int, *, q: str | None = None, status: str | None = None,
                    mode: str | None = None, cluster: str | None = None,
                    country: str | None = None):
    """The exhibitor list's SELECT, newest registration first: search both names and the booth
    code; filters. Conditions on organisations and booths are IN (subquery) rather than joins:
    the databases hash the (small) matching set once and walk the exhibitors' index, instead of
    a nested loop per registration. The caller eager-loads what it shows."""
    stmt = select(Exhibitor).where(Exhibitor.event_id == event_id)
    org_conditions = []
    if cluster:
        org_conditions.append(Organization.cluster_code == cluster)
    if country:
        org_conditions.append(Organization.country == country.upper())
    if org_conditions:
        stmt = stmt.where(Exhibitor.organization_id.in_(
            select(Organization.id).where(*org_conditions)))
    if q and q.strip():
        booth = organizations.like_pattern(q.strip().upper())
        stmt = stmt.where(or_(
            Exhibitor.organization_id.in_(
                select(Organization.id).where(organizations.name_search(q))),
            Exhibitor.booth_id.in_(select(Booth.id).where(
                Booth.event_id == event_id, func.upper(Booth.code).like(booth, escape="\\")))))
    if status:
        stmt = stmt.where(Exhibitor.status == status)
    if mode:
        stmt = stmt.where(Exhibitor.mode == mode)
    return stmt.order_by(Exhibitor.id.desc())
