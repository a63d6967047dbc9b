"""Exhibitor lists in and out: the import spec of an edition's exhibitors and its export.

A row describes an organisation and its registration for the edition, with an optional
contact. The organisation is recognised by its unified social credit code or its normalised
name (Chinese or English, either column): a known one is reused (its empty fields filled), an
unknown one created. The registration is the natural key: (edition, organisation); importing
the same file again updates the same registrations and creates nothing.
"""
from __future__ import annotations

from typing import Any, Hashable, Iterable

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from crm.expo.models import Booth, Event, Exhibitor
from crm.expo.vocab import MODE_LABELS, NEEDS_REASON, STATUS_LABELS
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import (
    email_domain,
    normalize_credit_code,
    normalize_name,
    valid_credit_code,
    website_domain,
)
from crm.organizations.services import fill_empty_fields, new_organization
from crm.reference.services import clusters
from crm.reference.vocab import country_name
from crm.tabular import Column, ImportSpec, RowResult, choice, country, decimal, email, text
from crm.timeutil import utcnow

CHUNK = 500  # bound parameters per IN (…): well under SQLite's and PostgreSQL's limits
ORG_KEYS = ("name_zh", "name_en", "credit_code", "country", "city", "cluster_code", "website")


def _credit_code(value: Any) -> str:
    code = normalize_credit_code(str(value))
    if not valid_credit_code(code):
        raise ValueError(_("Not a valid unified social credit code (18 characters, check "
                           "character per GB 32100-2015)."))
    return code


def _labels_both(labels: dict) -> dict[str, str]:
    """code → code, plus each label in Chinese and in English → code."""
    accepted = {code: code for code in labels}
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            accepted.update({str(label): code for code, label in labels.items()})
    return accepted


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


class ExhibitorImport(ImportSpec):
    name = "expo_exhibitors"
    title = _l("Exhibitors")

    def __init__(self, event: Event):
        self.event = event

    @property
    def scope(self) -> str:
        return str(self.event.id)

    @property
    def columns(self) -> list[Column]:
        if not hasattr(self, "_columns"):
            cluster_names = {}
            for c in clusters(active_only=False):
                cluster_names.update({c.code: c.code, c.name_zh: c.code, c.name_en: c.code})
            modes = _labels_both(MODE_LABELS)
            modes.update({"线下": "offline", "线上": "online", "线上线下": "hybrid",
                          "线上+线下": "hybrid", "混合": "hybrid"})
            self._columns = [
                Column("name_zh", "中文名称", "Chinese name", text(255),
                       aliases=("企业名称", "单位名称", "公司名称", "中文名"),
                       example="青岛海洋装备有限公司",
                       note=_l("A Chinese or an English name is required.")),
                Column("name_en", "英文名称", "English name", text(255),
                       aliases=("Company", "Company name", "Organisation", "Organization"),
                       example="Qingdao Marine Equipment Co., Ltd."),
                Column("credit_code", "统一社会信用代码", "Credit code", _credit_code,
                       aliases=("信用代码", "Unified social credit code", "USCC"),
                       example="91370211MA3C0QX1L7",
                       note=_l("Chinese entities: 18 characters, checked per GB 32100-2015.")),
                Column("country", "国家/地区", "Country/region", country(), required=True,
                       aliases=("国家", "国别", "Country", "Region"), example="CN",
                       note=_l("ISO code (CN, JP, KR…) or the name in Chinese or English.")),
                Column("city", "城市", "City", text(128), example="青岛"),
                Column("cluster_code", "产业集群", "Industry cluster", choice(cluster_names),
                       aliases=("集群", "行业", "Cluster", "Industry"), example="船舶海工",
                       note=_l("Code or name of an industry cluster.")),
                Column("website", "网站", "Website", text(255), example="www.example.cn"),
                Column("mode", "参展方式", "Participation mode", choice(modes),
                       aliases=("参展形式", "Mode", "Participation"), example="线上+线下",
                       note=_l("Offline, online or hybrid; empty means offline.")),
                Column("status", "状态", "Status", choice(_labels_both(STATUS_LABELS)),
                       example="已批准", note=_l("Empty means applied (new registrations).")),
                Column("status_reason", "原因", "Reason", text(500),
                       aliases=("拒绝/撤回原因", "Status reason"),
                       note=_l("Required when the status is rejected or withdrawn.")),
                Column("booth", "展位号", "Booth", text(32), aliases=("展位", "Booth code"),
                       example="A01", note=_l("A booth of this edition (see Booths).")),
                Column("exhibits", "展品", "Exhibits", text(5000),
                       aliases=("展品/产品", "产品", "Products", "Exhibits/products"),
                       example="深海养殖网箱"),
                Column("intended_deal_wan", "意向成交额(万元)", "Intended deal (10k CNY)",
                       decimal(), aliases=("意向成交额", "Intended deal", "Intended deal (万元)"),
                       example="1200.50", note=_l("In 万元 (10,000 yuan), up to 2 decimals.")),
                Column("contact_name", "联系人", "Contact", text(128),
                       aliases=("联系人姓名", "Contact name"), example="王海"),
                Column("contact_title", "职务", "Title", text(128), aliases=("Job title",),
                       example="总经理"),
                Column("contact_phone", "电话", "Phone", text(64), aliases=("手机", "Mobile"),
                       example="+86 532 8888 0000"),
                Column("contact_email", "邮箱", "Email", email(), aliases=("电子邮箱", "E-mail"),
                       example="wang@example.cn"),
                Column("contact_wechat", "微信", "WeChat", text(64), example="wanghai"),
            ]
        return self._columns

    @staticmethod
    def identity_keys(values: dict[str, Any]) -> list[Hashable]:
        keys: list[Hashable] = []
        if values.get("credit_code"):
            keys.append(("code", values["credit_code"]))
        for field in ("name_zh", "name_en"):
            key = normalize_name(values.get(field))
            if key:
                keys.append(("name", key))
        return keys

    def natural_key(self, values: dict[str, Any]) -> Hashable | None:
        keys = self.identity_keys(values)
        return keys[0] if keys else None

    # Checks -------------------------------------------------------------------------------

    def _known_organizations(self, rows: list[RowResult]):
        codes = {r.values["credit_code"] for r in rows if r.values.get("credit_code")}
        names = {k for r in rows for _kind, k in self.identity_keys(r.values) if _kind == "name"}
        by_code: dict[str, Organization] = {}
        by_name: dict[str, Organization] = {}
        for chunk in _chunks(codes):
            for org in db.session.scalars(select(Organization)
                                          .where(Organization.credit_code.in_(chunk))):
                by_code[org.credit_code] = org
        for chunk in _chunks(names):
            for org in db.session.scalars(select(Organization).where(or_(
                    Organization.name_zh_key.in_(chunk), Organization.name_en_key.in_(chunk)))
                    .order_by(Organization.id)):
                for key in {org.name_zh_key, org.name_en_key} & set(chunk):
                    by_name.setdefault(key, org)
        return by_code, by_name

    def check_rows(self, rows: list[RowResult]) -> None:
        by_code, by_name = self._known_organizations(rows)
        registrations = {e.organization_id: e for e in db.session.scalars(
            select(Exhibitor).where(Exhibitor.event_id == self.event.id))}
        booths = {b.code.casefold(): b for b in db.session.scalars(
            select(Booth).where(Booth.event_id == self.event.id))}
        booth_holder = {e.booth_id: e.organization_id for e in registrations.values()
                        if e.booth_id is not None}
        claimed_identity: dict[Hashable, int] = {}
        claimed_booth: dict[int, int] = {}
        new_rows: list[RowResult] = []
        for row in rows:
            values = row.values
            if not values.get("name_zh") and not values.get("name_en"):
                row.error("name_zh", _("Give a Chinese or an English name."))
            if values.get("status") in NEEDS_REASON and not values.get("status_reason"):
                row.error("status_reason", _("Give a reason for a rejected or withdrawn "
                                             "registration."))
            keys = self.identity_keys(values)
            earlier = next((claimed_identity[k] for k in keys if k in claimed_identity), None)
            if earlier is not None:
                row.error("", _("Same organisation as row %(n)d.", n=earlier))
            for key in keys:
                claimed_identity.setdefault(key, row.number)
            org = self._resolve(row, keys, by_code, by_name)
            self._check_booth(row, org, booths, booth_holder, claimed_booth)
            if not row.ok:
                continue
            registration = registrations.get(org.id) if org is not None else None
            row.context.update(organization=org, registration=registration)
            if org is None:
                new_rows.append(row)
                row.note = _("New organisation and registration")
            elif registration is None:
                row.note = _("Existing organisation %(name)s; new registration",
                             name=org.display_name)
            else:
                row.note = _("Registration of %(name)s updated", name=org.display_name)
        self._note_similar(new_rows)

    def _resolve(self, row: RowResult, keys, by_code, by_name) -> Organization | None:
        code = row.values.get("credit_code")
        by_code_org = by_code.get(code) if code else None
        name_orgs = {by_name[k].id: by_name[k] for kind, k in keys if kind == "name" and k in by_name}
        if by_code_org is not None and name_orgs and by_code_org.id not in name_orgs:
            other = next(iter(name_orgs.values()))
            row.error("credit_code", _("This code belongs to %(a)s, but the name is that of "
                                       "%(b)s.", a=by_code_org.display_name, b=other.display_name))
            return None
        if by_code_org is not None:
            return by_code_org
        if len(name_orgs) > 1:
            row.error("name_en", _("The Chinese and English names match two different "
                                   "organisations; correct one of them."))
            return None
        return next(iter(name_orgs.values()), None)

    def _check_booth(self, row, org, booths, booth_holder, claimed_booth) -> None:
        code = row.values.get("booth")
        if not code:
            return
        booth = booths.get(code.casefold())
        if booth is None:
            row.error("booth", _("No booth %(code)s in this edition.", code=code))
            return
        if row.values.get("status") in NEEDS_REASON:
            row.error("booth", _("A rejected or withdrawn registration gets no booth."))
            return
        holder = booth_holder.get(booth.id)
        if holder is not None and (org is None or holder != org.id):
            row.error("booth", _("Booth %(code)s is already allocated.", code=booth.code))
        elif booth.id in claimed_booth:
            row.error("booth", _("Booth %(code)s is also given to row %(n)d.",
                                 code=booth.code, n=claimed_booth[booth.id]))
        elif row.ok:
            claimed_booth[booth.id] = row.number
            row.context["booth_id"] = booth.id

    def _note_similar(self, new_rows: list[RowResult]) -> None:
        """Rows that will create an organisation whose mail/web domain a known one has."""
        domain_of = {}
        for row in new_rows:
            domain = (email_domain(row.values.get("contact_email"))
                      or website_domain(row.values.get("website")))
            if domain:
                domain_of[row.number] = domain
        similar: dict[str, Organization] = {}
        for chunk in _chunks(set(domain_of.values())):
            for org in db.session.scalars(select(Organization)
                                          .where(Organization.email_domain.in_(chunk))):
                similar.setdefault(org.email_domain, org)
        for row in new_rows:
            org = similar.get(domain_of.get(row.number, ""))
            if org is not None:
                row.note = _("New organisation — but %(name)s has the same mail domain; merge "
                             "them later if they are one.", name=org.display_name)

    # Writing ------------------------------------------------------------------------------

    def apply(self, rows: list[RowResult]) -> dict[str, int]:
        counts = dict.fromkeys(("organizations_created", "registrations_created",
                                "registrations_updated", "contacts_created"), 0)
        for row in rows:
            org_data = {k: row.values[k] for k in ORG_KEYS if row.values.get(k) is not None}
            org_data["email"] = row.values.get("contact_email")
            org = row.context["organization"]
            if org is None:
                org_data.setdefault("country", "CN")
                row.context["organization"] = new_organization(org_data)
                counts["organizations_created"] += 1
            else:
                fill_empty_fields(org, org_data)
        known = self._contacts_of([r.context["organization"] for r in rows])
        for row in rows:
            org = row.context["organization"]
            contact = self._contact(org, row.values, known.setdefault(id(org), []))
            row.context["contact"] = contact
            if contact is not None and contact.id is None:
                counts["contacts_created"] += 1
        # One flush for the organisations and contacts: the registrations then take their ids.
        db.session.flush()
        now = utcnow()
        for row in rows:
            values, org = row.values, row.context["organization"]
            exhibitor = row.context["registration"]
            if exhibitor is None:
                exhibitor = Exhibitor(event_id=self.event.id, organization_id=org.id,
                                      source="import", status="applied", mode="offline")
                db.session.add(exhibitor)
                counts["registrations_created"] += 1
            else:
                counts["registrations_updated"] += 1
            for field in ("mode", "exhibits", "intended_deal_wan", "status"):
                if values.get(field) is not None:
                    setattr(exhibitor, field, values[field])
            if values.get("status") is not None:
                exhibitor.status_reason = (values.get("status_reason")
                                           if exhibitor.status in NEEDS_REASON else None)
                if exhibitor.status == "checked_in" and exhibitor.checked_in_at is None:
                    exhibitor.checked_in_at = now
            if "booth_id" in row.context:
                exhibitor.booth_id = row.context["booth_id"]
            if row.context["contact"] is not None and exhibitor.contact_id is None:
                exhibitor.contact_id = row.context["contact"].id
        return counts

    @staticmethod
    def _contacts_of(orgs: list[Organization]) -> dict[int, list[Contact]]:
        """The known organisations' contacts, keyed by id() of the organisation object (new
        organisations have no database id yet; they start with no contacts)."""
        by_id = {org.id: org for org in orgs if org.id is not None}
        found: dict[int, list[Contact]] = {}
        for chunk in _chunks(by_id):
            for contact in db.session.scalars(select(Contact)
                                              .where(Contact.organization_id.in_(chunk))):
                found.setdefault(id(by_id[contact.organization_id]), []).append(contact)
        return found

    @staticmethod
    def _contact(org: Organization, values: dict, known: list[Contact]) -> Contact | None:
        name = values.get("contact_name")
        if not name:
            return None
        mail = (values.get("contact_email") or "").lower()
        contact = next((c for c in known if c.name.casefold() == name.casefold()
                        or (mail and (c.email or "").lower() == mail)), None)
        fields = {"title": values.get("contact_title"), "phone": values.get("contact_phone"),
                  "email": values.get("contact_email"), "wechat": values.get("contact_wechat")}
        if contact is None:
            language = "zh_CN" if org.country in ("CN", "TW", "HK", "MO") else "en"
            # A new organisation gets its contact through the relationship (no id yet); a known
            # one by id, which spares loading its contact list.
            link = {"organization_id": org.id} if org.id is not None else {"organization": org}
            contact = Contact(name=name, language=language, **link, **fields)
            db.session.add(contact)
            known.append(contact)
        else:
            for key, value in fields.items():
                if value and not getattr(contact, key):
                    setattr(contact, key, value)
        return contact


# Export ------------------------------------------------------------------------------------

def export_rows(event: Event, lang: str, stmt) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the exhibitor list (the import's columns, then the check-in time), so
    that an exported list can be edited and imported again. `stmt` selects the exhibitors."""
    spec = ExhibitorImport(event)
    stmt = stmt.options(selectinload(Exhibitor.organization), selectinload(Exhibitor.booth),
                        selectinload(Exhibitor.contact))
    with force_locale("en" if lang == "en" else "zh_CN"):
        headers = [c.label(lang) for c in spec.columns] + [_("Checked in at (UTC)")]
        cluster_label = {c.code: c.label for c in clusters(active_only=False)}
        mode_text = {k: str(v) for k, v in MODE_LABELS.items()}
        status_text = {k: str(v) for k, v in STATUS_LABELS.items()}
        rows = []
        for e in db.session.scalars(stmt):
            org, contact = e.organization, e.contact
            rows.append([
                org.name_zh, org.name_en, org.credit_code, country_name(org.country), org.city,
                cluster_label.get(org.cluster_code, org.cluster_code), org.website,
                mode_text.get(e.mode, e.mode), status_text.get(e.status, e.status),
                e.status_reason, e.booth.code if e.booth else None, e.exhibits,
                e.intended_deal_wan,
                *((contact.name, contact.title, contact.phone, contact.email, contact.wechat)
                  if contact else (None,) * 5),
                e.checked_in_at.replace(microsecond=0) if e.checked_in_at else None])
    return headers, rows
