"""Exhibitor lists in and out: the import spec of an edition's exhibitors and its export.

A row describes an organisation and its registration for the edition, with an optional
contact. The organisation is recognised by its unified social credit code or its normalised
name (Chinese or English, either column): a known one is reused (its empty fields filled), an
unknown one created. The registration is the natural key: (edition, organisation); importing
the same file again updates the same registrations and creates nothing.
"""
from __future__ import annotations

from typing import Any, Hashable

from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.audit.history import create_many
from crm.expo.models import Booth, Event, Exhibitor
from crm.expo.vocab import MODE_LABELS, NEEDS_REASON, STATUS_LABELS
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import email_domain, website_domain
from crm.organizations.services import (create_organizations, fill_empty_fields,
                                        known_organizations, organization_keys,
                                        parse_credit_code)
from crm.reference.services import clusters
from crm.reference.vocab import country_name
from crm.tabular import (Column, ImportSpec, RowResult, both_languages, choice, chunks, country,
                         decimal, email, text)
from crm.timeutil import utcnow

ORG_KEYS = ("name_zh", "name_en", "credit_code", "country", "city", "cluster_code", "website")
CONTACT_KEYS = ("title", "phone", "email", "wechat")  # besides the name, as contact_<key>
REGISTRATION_KEYS = ("mode", "exhibits", "intended_deal_wan", "status")


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
            modes = both_languages(MODE_LABELS)
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
                Column("credit_code", "统一社会信用代码", "Credit code", parse_credit_code,
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
                Column("status", "状态", "Status", choice(both_languages(STATUS_LABELS)),
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

    def natural_key(self, values: dict[str, Any]) -> Hashable | None:
        keys = organization_keys(values)
        return keys[0] if keys else None

    # Checks -------------------------------------------------------------------------------

    def check_rows(self, rows: list[RowResult]) -> None:
        keys_of = {row.number: organization_keys(row.values) for row in rows}
        by_code, by_name = known_organizations(k for keys in keys_of.values() for k in keys)
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
            keys = keys_of[row.number]
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
        for chunk in chunks(set(domain_of.values())):
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
        """Known records are updated through the ORM (few, and audited by its flush); new
        organisations, contacts and registrations, thousands in a first import, are inserted
        in bulk with their history."""
        new_orgs = [row for row in rows if row.context["organization"] is None]
        for row in rows:
            if row.context["organization"] is not None:
                fill_empty_fields(row.context["organization"], self._organization_data(row))
        created = create_organizations([self._organization_data(row) for row in new_orgs])
        org_ids = {row.number: org_id for row, org_id in zip(new_orgs, created)}
        org_ids.update({row.number: row.context["organization"].id for row in rows
                        if row.context["organization"] is not None})
        contact_ids, contacts_created = self._contacts(rows, org_ids)
        registrations_created = self._registrations(rows, org_ids, contact_ids)
        return {"organizations_created": len(created),
                "registrations_created": registrations_created,
                "registrations_updated": len(rows) - registrations_created,
                "contacts_created": contacts_created}

    @staticmethod
    def _organization_data(row: RowResult) -> dict:
        data = {key: row.values[key] for key in ORG_KEYS if row.values.get(key) is not None}
        data["email"] = row.values.get("contact_email")
        return data

    def _contacts(self, rows: list[RowResult], org_ids: dict[int, int]
                  ) -> tuple[dict[int, int], int]:
        """The contact of each row that names one (by row number): a known contact of its
        organisation with the same name or mail address (its empty fields filled), else a new
        one. Returns those ids and how many were created."""
        known: dict[int, list[Contact]] = {}
        known_orgs = {org_ids[row.number] for row in rows
                      if row.context["organization"] is not None}
        for chunk in chunks(known_orgs):
            for contact in db.session.scalars(select(Contact)
                                              .where(Contact.organization_id.in_(chunk))):
                known.setdefault(contact.organization_id, []).append(contact)
        contact_ids: dict[int, int] = {}
        new: list[tuple[int, dict]] = []
        for row in rows:
            values, name = row.values, row.values.get("contact_name")
            if not name:
                continue
            fields = {key: values.get(f"contact_{key}") for key in CONTACT_KEYS}
            mail = (fields["email"] or "").lower()
            contact = next((c for c in known.get(org_ids[row.number], ())
                            if c.name.casefold() == name.casefold()
                            or (mail and (c.email or "").lower() == mail)), None)
            if contact is None:
                org = row.context["organization"]
                home = org.country if org is not None else values["country"]
                language = "zh_CN" if home in ("CN", "TW", "HK", "MO") else "en"
                new.append((row.number, dict(organization_id=org_ids[row.number], name=name,
                                             language=language, **fields)))
                continue
            for key, value in fields.items():
                if value and not getattr(contact, key):
                    setattr(contact, key, value)
            contact_ids[row.number] = contact.id
        ids = create_many(Contact, [data for _number, data in new])
        contact_ids.update((number, contact_id) for (number, _data), contact_id in zip(new, ids))
        return contact_ids, len(new)

    def _registrations(self, rows: list[RowResult], org_ids: dict[int, int],
                       contact_ids: dict[int, int]) -> int:
        """Create or update each row's registration; returns how many were created."""
        now = utcnow()
        new = []
        for row in rows:
            exhibitor = row.context["registration"]
            if exhibitor is None:
                data = dict(event_id=self.event.id, organization_id=org_ids[row.number],
                            source="import", status="applied", mode="offline")
                data.update(self._registration_changes(row, {}, contact_ids, now))
                new.append(data)
                continue
            current = {key: getattr(exhibitor, key) for key in ("checked_in_at", "contact_id")}
            for key, value in self._registration_changes(row, current, contact_ids, now).items():
                # Only real changes: re-importing a file leaves its registrations untouched.
                if getattr(exhibitor, key) != value:
                    setattr(exhibitor, key, value)
        create_many(Exhibitor, new)
        return len(new)

    @staticmethod
    def _registration_changes(row: RowResult, current: dict, contact_ids: dict[int, int],
                              now) -> dict:
        """What the row sets on a registration (`current`: its check-in time and contact)."""
        values = row.values
        changes = {key: values[key] for key in REGISTRATION_KEYS if values.get(key) is not None}
        if values.get("status") is not None:
            changes["status_reason"] = (values.get("status_reason")
                                        if values["status"] in NEEDS_REASON else None)
            if values["status"] == "checked_in" and current.get("checked_in_at") is None:
                changes["checked_in_at"] = now
        if "booth_id" in row.context:
            changes["booth_id"] = row.context["booth_id"]
        if row.number in contact_ids and current.get("contact_id") is None:
            changes["contact_id"] = contact_ids[row.number]
        return changes


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
