"""Rules for organisations and their contacts, shared by the expo, the leads, the API and imports.

Every write goes through here: names are normalised into keys for duplicate detection, the
unified social credit code is checked, and a likely duplicate is refused with a `Conflict`
naming the existing record unless the caller explicitly accepts it (`allow_duplicate=True`).
These functions commit; `merge_organizations` moves everything that points at an organisation.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import or_, select

from crm.audit.history import create_many, record_event
from crm.exceptions import Conflict, ValidationFailed
from crm.expo.models import Exhibitor
from crm.extensions import db
from crm.leads.models import Project
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import (
    email_domain,
    normalize_credit_code,
    normalize_name,
    search_key,
    valid_credit_code,
    website_domain,
)
from crm.reference.models import IndustryCluster
from crm.reference.vocab import is_country_code
from crm.tabular import chunks

__all__ = [
    "normalize_name", "valid_credit_code", "find_duplicates", "create_organization",
    "update_organization", "merge_organizations", "add_contact", "update_contact",
    "delete_contact", "new_organization", "create_organizations", "fill_empty_fields",
    "duplicate_reason", "organization_query", "name_search", "like_pattern",
    "parse_credit_code", "organization_keys", "known_organizations", "ORGANIZATION_FIELDS",
    "CONTACT_FIELDS",
]

# What callers may set; `email` is not stored on the organisation, it gives the mail domain.
ORGANIZATION_FIELDS = ("name_zh", "name_en", "credit_code", "country", "city", "cluster_code",
                       "website", "description", "email")
CONTACT_FIELDS = ("name", "title", "phone", "email", "wechat", "language")
CONTACT_LANGUAGES = ("zh_CN", "en")
_MAX = {"name_zh": 255, "name_en": 255, "city": 128, "website": 255, "name": 128, "title": 128,
        "phone": 64, "email": 255, "wechat": 64}


def _clean(value):
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _check_keys(fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")


def _too_long(fields: dict, errors: dict) -> None:
    for key, value in fields.items():
        if isinstance(value, str) and key in _MAX and len(value) > _MAX[key]:
            errors[key] = _("At most %(n)d characters.", n=_MAX[key])


def _normalise_website(url: str | None) -> str | None:
    if not url:
        return None
    return url if "://" in url else f"https://{url}"


def _credit_code_message() -> str:
    return _("Not a valid unified social credit code (18 characters, check character per "
             "GB 32100-2015).")


def parse_credit_code(value: Any) -> str:
    """An import column's parser: the normalised code, or ValueError saying what is wrong."""
    code = normalize_credit_code(str(value))
    if not valid_credit_code(code):
        raise ValueError(_credit_code_message())
    return code


def _validated(fields: dict, current: Organization | None = None) -> dict:
    """Cleaned organisation fields, or ValidationFailed with a message per field."""
    data = {key: _clean(value) for key, value in fields.items()}
    errors: dict[str, str] = {}
    _too_long(data, errors)
    name_zh = data.get("name_zh", current.name_zh if current else None)
    name_en = data.get("name_en", current.name_en if current else None)
    if not name_zh and not name_en:
        errors["name_zh"] = _("Give a Chinese or an English name.")
    if "credit_code" in data:
        data["credit_code"] = normalize_credit_code(data["credit_code"])
        if data["credit_code"] and not valid_credit_code(data["credit_code"]):
            errors["credit_code"] = _credit_code_message()
    if "country" in data:
        data["country"] = (data["country"] or "CN").upper()
        if not is_country_code(data["country"]):
            errors["country"] = _("Unknown country or region code.")
    if data.get("cluster_code") and db.session.scalar(
            select(IndustryCluster.id).where(IndustryCluster.code == data["cluster_code"])) is None:
        errors["cluster_code"] = _("Unknown industry cluster.")
    if "website" in data:
        data["website"] = _normalise_website(data["website"])
        host = urlsplit(data["website"]).hostname if data["website"] else "x.x"
        if not host or "." not in host:
            errors["website"] = _("Not a web address.")
    if data.get("email"):
        try:
            validate_email(data["email"], check_deliverability=False)
        except EmailNotValidError:
            errors["email"] = _("Invalid email address.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return data


def find_duplicates(*, name_zh: str | None = None, name_en: str | None = None,
                    credit_code: str | None = None, email: str | None = None,
                    website: str | None = None, exclude_id: int | None = None,
                    limit: int = 10) -> list[Organization]:
    """Organisations that are likely the same: credit code, normalised name or mail domain.

    Names are compared across languages (an English name typed into the Chinese field still
    matches). The domain comes from the mail address, else from the website; free-mail domains
    never match. Same credit code comes first, then name matches, then domain matches.
    """
    keys = {k for k in (normalize_name(name_zh), normalize_name(name_en)) if k}
    code = normalize_credit_code(credit_code)
    domain = email_domain(email) or website_domain(website)
    conditions = []
    if code:
        conditions.append(Organization.credit_code == code)
    if keys:
        conditions += [Organization.name_zh_key.in_(keys), Organization.name_en_key.in_(keys)]
    if domain:
        conditions.append(Organization.email_domain == domain)
    if not conditions:
        return []
    stmt = select(Organization).where(or_(*conditions))
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    found = list(db.session.scalars(stmt.order_by(Organization.id).limit(limit)))

    def rank(org: Organization) -> int:
        if code and org.credit_code == code:
            return 0
        if org.name_zh_key in keys or org.name_en_key in keys:
            return 1
        return 2

    return sorted(found, key=rank)


def duplicate_reason(org: Organization, *, name_zh: str | None = None,
                     name_en: str | None = None, credit_code: str | None = None) -> str:
    """Why `org` looks like the one being entered, in the user's language."""
    code = normalize_credit_code(credit_code)
    if code and org.credit_code == code:
        return _("same unified social credit code")
    keys = {k for k in (normalize_name(name_zh), normalize_name(name_en)) if k}
    if org.name_zh_key in keys or org.name_en_key in keys:
        return _("same name (ignoring width, case, spaces and legal form)")
    return _("same mail domain")


def _apply(org: Organization, data: dict) -> None:
    for key, value in _organization_values(data, current=org).items():
        # Only real changes: a re-import that changes nothing leaves nothing to flush.
        if getattr(org, key) != value:
            setattr(org, key, value)


def _organization_values(data: dict, current: Organization | None = None) -> dict:
    """The columns that `data` (validated fields) sets: the fields, the name keys, and the mail
    domain (from the address, else the website) when the organisation has none yet."""
    values = {key: value for key, value in data.items() if key != "email"}
    for field in ("name_zh", "name_en"):
        name = values[field] if field in values else getattr(current, field, None)
        values[f"{field}_key"] = normalize_name(name) or None
    website = values["website"] if "website" in values else getattr(current, "website", None)
    domain = email_domain(data.get("email")) or website_domain(website)
    if domain and not getattr(current, "email_domain", None):
        values["email_domain"] = domain
    return values


def _credit_code_clash(code: str | None, exclude_id: int | None) -> None:
    if not code:
        return
    stmt = select(Organization.id).where(Organization.credit_code == code)
    if exclude_id is not None:
        stmt = stmt.where(Organization.id != exclude_id)
    existing = db.session.scalar(stmt)
    if existing is not None:
        msg = _("An organisation with this unified social credit code already exists.")
        raise Conflict(msg, existing_id=existing, errors={"credit_code": msg})


def create_organization(*, allow_duplicate: bool = False, commit: bool = True,
                        **fields) -> Organization:
    """Create an organisation; a likely duplicate raises Conflict(existing_id=...) unless allowed.

    The same credit code is never allowed twice (the database refuses it too). `commit=False`
    lets a caller add the registration that goes with it in the same transaction.
    """
    _check_keys(fields, ORGANIZATION_FIELDS)
    fields.setdefault("country", "CN")
    data = _validated(fields)
    _credit_code_clash(data.get("credit_code"), None)
    if not allow_duplicate:
        dupes = find_duplicates(name_zh=data.get("name_zh"), name_en=data.get("name_en"),
                                email=data.get("email"), website=data.get("website"))
        if dupes:
            raise Conflict(_("A similar organisation already exists: %(name)s.",
                             name=dupes[0].display_name), existing_id=dupes[0].id)
    org = new_organization(data)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return org


def new_organization(data: dict) -> Organization:
    """An organisation from fields the caller has validated (an importer's parsed row), added
    to the session without any query: the importer resolved duplicates in one batch before."""
    org = Organization(**_organization_values(data))
    db.session.add(org)
    return org


def create_organizations(rows: list[dict]) -> list[int]:
    """`new_organization` for many rows at once (an import's new organisations): inserted in
    bulk with their history; returns their ids in the order of `rows`."""
    return create_many(Organization, [_organization_values(data) for data in rows])


# Identity in imports -------------------------------------------------------------------------

def organization_keys(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What identifies the organisation an imported row names: ("code", credit code), then
    ("name", key) for each normalised name. Rows sharing a key name one organisation."""
    keys = [("code", values["credit_code"])] if values.get("credit_code") else []
    for field in ("name_zh", "name_en"):
        key = normalize_name(values.get(field))
        if key:
            keys.append(("name", key))
    return keys


def known_organizations(keys: Iterable[tuple[str, str]]
                        ) -> tuple[dict[str, Organization], dict[str, Organization]]:
    """The organisations that `organization_keys` of many rows name, by credit code and by name
    key (the oldest where several share a name), in one query per few hundred keys."""
    keys = set(keys)
    codes = [value for kind, value in keys if kind == "code"]
    names = [value for kind, value in keys if kind == "name"]
    by_code: dict[str, Organization] = {}
    by_name: dict[str, Organization] = {}
    for chunk in chunks(codes):
        for org in db.session.scalars(select(Organization)
                                      .where(Organization.credit_code.in_(chunk))):
            by_code[org.credit_code] = org
    for chunk in chunks(names):
        wanted = set(chunk)
        for org in db.session.scalars(select(Organization).where(or_(
                Organization.name_zh_key.in_(chunk), Organization.name_en_key.in_(chunk)))
                .order_by(Organization.id)):
            for key in {org.name_zh_key, org.name_en_key} & wanted:
                by_name.setdefault(key, org)
    return by_code, by_name


def fill_empty_fields(org: Organization, data: dict) -> None:
    """Give `org` the values it lacks, never overwriting what someone curated (re-imports)."""
    _apply(org, {k: v for k, v in data.items() if k == "email" or not getattr(org, k, None)})


def update_organization(org: Organization, **fields) -> Organization:
    """Change some fields; another organisation's credit code raises Conflict."""
    _check_keys(fields, ORGANIZATION_FIELDS)
    data = _validated(fields, current=org)
    _credit_code_clash(data.get("credit_code"), org.id)
    _apply(org, data)
    db.session.commit()
    return org


def _merge_exhibitors(keep: Organization, other: Organization) -> None:
    """Move the other's registrations; where both exhibited at an edition, keep one row.

    The kept registration takes the other's booth, exhibits, deal and contact when it has none,
    and leads that came from the other registration point at the kept one.
    """
    theirs = list(db.session.scalars(select(Exhibitor).where(Exhibitor.organization_id == other.id)))
    ours = {e.event_id: e for e in db.session.scalars(
        select(Exhibitor).where(Exhibitor.organization_id == keep.id))}
    for exhibitor in theirs:
        kept = ours.get(exhibitor.event_id)
        if kept is None:
            exhibitor.organization_id = keep.id
            continue
        booth_id, exhibitor.booth_id = exhibitor.booth_id, None
        db.session.flush()  # free the booth before the kept registration takes it
        for attr, value in (("booth_id", booth_id), ("exhibits", exhibitor.exhibits),
                            ("intended_deal_wan", exhibitor.intended_deal_wan),
                            ("contact_id", exhibitor.contact_id)):
            if getattr(kept, attr) is None and value is not None:
                setattr(kept, attr, value)
        for project in db.session.scalars(
                select(Project).where(Project.source_exhibitor_id == exhibitor.id)):
            project.source_exhibitor_id = kept.id
        db.session.flush()
        db.session.delete(exhibitor)


def merge_organizations(keep: Organization, other: Organization) -> Organization:
    """Fold `other` into `keep`: exhibitors, leads and contacts move; `other` is deleted.

    Empty fields of `keep` take `other`'s values. The merge is recorded in both records'
    history. Only admins may call this from the web (the view checks the role).
    """
    if keep.id == other.id:
        raise ValidationFailed(_("Choose two different organisations."))
    _merge_exhibitors(keep, other)
    for project in db.session.scalars(select(Project).where(Project.organization_id == other.id)):
        project.organization_id = keep.id
    for contact in list(other.contacts):
        contact.organization = keep
    credit_code, other.credit_code = other.credit_code, None
    db.session.flush()  # the credit code is unique: release it before `keep` takes it
    for attr in ("name_zh", "name_en", "city", "cluster_code", "website", "email_domain",
                 "description"):
        if not getattr(keep, attr) and getattr(other, attr):
            setattr(keep, attr, getattr(other, attr))
    if not keep.credit_code and credit_code:
        keep.credit_code = credit_code
    keep.name_zh_key = normalize_name(keep.name_zh) or None
    keep.name_en_key = normalize_name(keep.name_en) or None
    label = f"#{other.id} {other.name_zh or ''} {other.name_en or ''}".strip()
    record_event("organizations", keep.id, "merge", field="merged_from", new=label)
    record_event("organizations", other.id, "merge", field="merged_into", new=str(keep.id))
    db.session.delete(other)
    db.session.commit()
    return keep


# Contacts ---------------------------------------------------------------------------------

def _contact_data(fields: dict, current: Contact | None = None) -> dict:
    data = {key: _clean(value) for key, value in fields.items()}
    errors: dict[str, str] = {}
    _too_long(data, errors)
    if not data.get("name", current.name if current else None):
        errors["name"] = _("This field is required.")
    if data.get("email"):
        try:
            data["email"] = validate_email(data["email"], check_deliverability=False).normalized
        except EmailNotValidError:
            errors["email"] = _("Invalid email address.")
    if "language" in data:
        data["language"] = data["language"] or "zh_CN"
        if data["language"] not in CONTACT_LANGUAGES:
            errors["language"] = _("Unknown language.")
    if errors:
        raise ValidationFailed(_("Please correct the marked fields."), errors)
    return data


def _note_domain(org: Organization, email: str | None) -> None:
    domain = email_domain(email)
    if domain and not org.email_domain:
        org.email_domain = domain


def add_contact(org: Organization, *, commit: bool = True, **fields) -> Contact:
    _check_keys(fields, CONTACT_FIELDS)
    data = _contact_data(fields)
    contact = Contact(organization=org, **data)
    db.session.add(contact)
    _note_domain(org, data.get("email"))
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return contact


def update_contact(contact: Contact, **fields) -> Contact:
    _check_keys(fields, CONTACT_FIELDS)
    data = _contact_data(fields, current=contact)
    for key, value in data.items():
        setattr(contact, key, value)
    _note_domain(contact.organization, data.get("email"))
    db.session.commit()
    return contact


def delete_contact(contact: Contact) -> None:
    db.session.delete(contact)
    db.session.commit()



# Lists ------------------------------------------------------------------------------------

def like_pattern(text: str) -> str:
    """A LIKE pattern for `text` with its own % and _ taken literally (escape character '\\')."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_search(q: str):
    """A condition matching organisations whose name contains `q`, in either language.

    Compared on the stored name keys (already width- and case-folded), so the search ignores
    width, case, spaces and punctuation without a function call per row; the query is folded
    both as typed and with its legal form removed ("山东港口集团" finds 山东港口集团有限公司).
    The credit code matches too.
    """
    keys = {k for k in (search_key(q), normalize_name(q)) if k}
    conditions = [Organization.credit_code.like(like_pattern(q.strip().upper()), escape="\\")]
    for key in keys:
        pattern = like_pattern(key)
        conditions += [Organization.name_zh_key.like(pattern, escape="\\"),
                       Organization.name_en_key.like(pattern, escape="\\")]
    return or_(*conditions)


def organization_query(*, q: str | None = None, country: str | None = None,
                       cluster: str | None = None):
    """The organisation list's SELECT: search in both names and the credit code, filters."""
    stmt = select(Organization)
    if q and q.strip():
        stmt = stmt.where(name_search(q))
    if country:
        stmt = stmt.where(Organization.country == country.upper())
    if cluster:
        stmt = stmt.where(Organization.cluster_code == cluster)
    return stmt.order_by(Organization.name_zh, Organization.name_en, Organization.id)
