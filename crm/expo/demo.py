"""Demo data for the expo: the 2020 East Asia Marine Expo (online + offline) with exhibitors from
many countries, booths, statuses and intended deals. Idempotent: organisations are matched by
name and the edition by its Chinese name; nothing is created twice."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from crm.expo.models import Booth, Event, Exhibitor
from crm.expo.services import free_booths
from crm.extensions import db
from crm.organizations.models import Contact, Organization
from crm.organizations.normalize import credit_code_check_char, normalize_name
from crm.organizations.services import new_organization

EDITION = "2020 东亚海洋博览会"

# (中文名, English name, country, city, cluster, mode, status, intended deal 万元 or None,
#  exhibits, contact name, contact email)
EXHIBITORS = [
    ("中国船舶集团青岛北海造船有限公司", "CSSC Qingdao Beihai Shipbuilding Co., Ltd.", "CN", "青岛", "shipbuilding", "offline", "checked_in", "32000", "超大型矿砂船、海工平台模型", "刘建国", "liujg@bhshipyard.cn"),
    ("海洋石油工程(青岛)有限公司", "Offshore Oil Engineering (Qingdao) Co., Ltd.", "CN", "青岛", "shipbuilding", "offline", "checked_in", "18500", "导管架、上部组块", "孙立", "sunli@cooec-qd.cn"),
    ("青岛海尔生物医疗股份有限公司", "Qingdao Haier Biomedical Co., Ltd.", "CN", "青岛", "biomedicine", "hybrid", "checked_in", "9600", "超低温生物样本库", "赵敏", "zhaomin@haierbiomedical.cn"),
    ("明月海藻集团有限公司", "Bright Moon Seaweed Group", "CN", "青岛", "biomedicine", "offline", "confirmed", "12800", "海藻酸盐、海洋功能食品", "张海燕", "zhanghy@brightmoon.cn"),
    ("国信海洋牧场发展有限公司", "Guoxin Marine Ranching Development Co., Ltd.", "CN", "青岛", "fisheries", "hybrid", "checked_in", "26000", "深远海养殖工船“国信1号”模型", "王涛", "wangtao@guoxin-ocean.cn"),
    ("青岛港国际股份有限公司", "Qingdao Port International Co., Ltd.", "CN", "青岛", "shipping", "offline", "checked_in", "21000", "自动化码头解决方案", "李娜", "lina@qdport.cn"),
    ("山东海洋集团有限公司", "Shandong Marine Group Co., Ltd.", "CN", "济南", "shipping", "hybrid", "confirmed", "15000", "航运、海洋渔业综合服务", "陈刚", "chengang@sdmg.cn"),
    ("中集来福士海洋工程有限公司", "CIMC Raffles Offshore Ltd.", "CN", "烟台", "shipbuilding", "offline", "approved", "8800", "半潜式钻井平台", "周磊", "zhoulei@cimc-raffles.cn"),
    ("青岛冷链物流有限公司", "Qingdao Cold Chain Logistics Co., Ltd.", "CN", "青岛", "cold_chain", "offline", "confirmed", "4200", "冷库智能管理系统", "吴倩", "wuqian@qdcold.cn"),
    ("青岛海洋科技有限公司", "Qingdao Marine Science & Technology Co., Ltd.", "CN", "青岛", "equipment", "online", "approved", "2600", "水下滑翔机", "郑斌", "zhengbin@qdmst.cn"),
    ("中车四方车辆有限公司海洋装备事业部", "CRRC Sifang Marine Equipment Division", "CN", "青岛", "equipment", "offline", "applied", None, "海洋观测浮标", "黄伟", "huangwei@crrc-sf.cn"),
    ("东方电气风电股份有限公司", "Dongfang Electric Wind Power Co., Ltd.", "CN", "德阳", "energy", "hybrid", "approved", "11000", "10MW 海上风电机组", "马超", "machao@dfstw.cn"),
    ("青岛西海岸文旅集团", "Qingdao West Coast Culture & Tourism Group", "CN", "青岛", "tourism", "offline", "withdrawn", None, "滨海旅游线路", "林晓", "linxiao@wcct.cn"),
    ("三菱重工业株式会社", "Mitsubishi Heavy Industries, Ltd.", "JP", "Tokyo", "shipbuilding", "online", "confirmed", "8000", "LNG 运输船技术", "佐藤健", "k.sato@mhi.co.jp"),
    ("株式会社ニチレイ", "Nichirei Corporation", "JP", "Tokyo", "cold_chain", "online", "approved", "3500", "冷冻食品物流", "田中美咲", "m.tanaka@nichirei.co.jp"),
    ("日本邮船株式会社", "NYK Line", "JP", "Tokyo", "shipping", "hybrid", "confirmed", "6000", "绿色航运方案", "鈴木一郎", "i.suzuki@nyk.com"),
    ("丸红株式会社", "Marubeni Corporation", "JP", "Tokyo", "fisheries", "online", "applied", None, "水产品贸易", "高橋修", "o.takahashi@marubeni.com"),
    ("现代重工业株式会社", "Hyundai Heavy Industries Co., Ltd.", "KR", "Ulsan", "shipbuilding", "online", "confirmed", "9000", "智能船舶", "Kim Min-jun", "mj.kim@hhi.co.kr"),
    ("三星重工业株式会社", "Samsung Heavy Industries Co., Ltd.", "KR", "Geoje", "shipbuilding", "online", "approved", "7500", "FLNG 技术", "Lee Ji-eun", "je.lee@shi.samsung.co.kr"),
    ("CJ 第一制糖株式会社", "CJ CheilJedang Corporation", "KR", "Seoul", "biomedicine", "online", "approved", "2200", "海洋生物发酵产品", "Park Seo-yeon", "sy.park@cj.net"),
    ("韩国海洋科学技术院", "Korea Institute of Ocean Science & Technology", "KR", "Busan", "services", "online", "rejected", None, "海洋观测数据", "Choi Hyun-woo", "hw.choi@kiost.ac.kr"),
    ("吉宝岸外与海事有限公司", "Keppel Offshore & Marine Ltd.", "SG", "Singapore", "shipbuilding", "online", "confirmed", "5200", "钻井平台改装", "Tan Wei Ming", "weiming.tan@keppelom.com"),
    ("胜科海事有限公司", "Sembcorp Marine Ltd.", "SG", "Singapore", "shipbuilding", "online", "approved", "4100", "海工浮式生产储卸油装置", "Lim Hui Ling", "huiling.lim@sembmarine.com"),
    ("泰国正大集团水产公司", "Charoen Pokphand Foods Aquaculture", "TH", "Bangkok", "fisheries", "hybrid", "confirmed", "6800", "对虾养殖技术", "Somchai Wongsakul", "somchai.w@cpf.co.th"),
    ("泰万盛集团", "Thai Union Group PCL", "TH", "Samut Sakhon", "fisheries", "online", "approved", "3300", "金枪鱼加工", "Pimchanok Srisuk", "pimchanok.s@thaiunion.com"),
    ("越南国家航运公司", "Vietnam National Shipping Lines", "VN", "Hanoi", "shipping", "online", "approved", "1800", "东南亚航线", "Nguyen Van An", "an.nguyen@vinalines.com.vn"),
    ("明海渔业有限公司", "Minh Phu Seafood Corporation", "VN", "Ca Mau", "fisheries", "online", "applied", None, "冷冻虾", "Tran Thi Hoa", "hoa.tran@minhphu.com"),
    ("马来西亚国际船运公司", "MISC Berhad", "MY", "Kuala Lumpur", "shipping", "online", "confirmed", "2500", "LNG 运输", "Ahmad Faizal", "faizal.ahmad@misc.com.my"),
    ("印尼国家船运公司", "PT Pelayaran Nasional Indonesia", "ID", "Jakarta", "shipping", "online", "approved", "1500", "群岛航运", "Budi Santoso", "budi.santoso@pelni.co.id"),
    ("菲律宾海洋产业协会", "Philippine Marine Industries Association", "PH", "Manila", "services", "online", "applied", None, "海事服务", "Maria Santos", "maria.santos@pmia.ph"),
    ("挪威康士伯海事公司", "Kongsberg Maritime AS", "NO", "Kongsberg", "equipment", "online", "confirmed", "4600", "动力定位系统", "Lars Hansen", "lars.hansen@km.kongsberg.com"),
    ("挪威阿克海洋资源公司", "Aker BioMarine ASA", "NO", "Oslo", "biomedicine", "online", "approved", "3900", "南极磷虾油", "Ingrid Berg", "ingrid.berg@akerbiomarine.com"),
    ("德国迈尔造船厂", "Meyer Werft GmbH", "DE", "Papenburg", "shipbuilding", "online", "approved", "3000", "邮轮设计", "Jan Müller", "jan.mueller@meyerwerft.de"),
    ("西门子歌美飒可再生能源公司", "Siemens Gamesa Renewable Energy", "ES", "Zamudio", "energy", "online", "confirmed", "7200", "海上风电整机", "Carlos García", "carlos.garcia@siemensgamesa.com"),
    ("荷兰皇家博斯卡利斯公司", "Royal Boskalis Westminster N.V.", "NL", "Papendrecht", "services", "online", "approved", "2800", "疏浚与海事工程", "Pieter de Vries", "pieter.devries@boskalis.com"),
    ("法国达飞海运集团", "CMA CGM Group", "FR", "Marseille", "shipping", "online", "checked_in", "5600", "集装箱航运", "Sophie Martin", "sophie.martin@cma-cgm.com"),
    ("英国劳氏船级社", "Lloyd's Register Group Ltd.", "GB", "London", "services", "online", "confirmed", "1200", "船级与认证服务", "James Smith", "james.smith@lr.org"),
    ("芬兰瓦锡兰公司", "Wärtsilä Corporation", "FI", "Helsinki", "equipment", "online", "approved", "3600", "船用发动机", "Mikko Virtanen", "mikko.virtanen@wartsila.com"),
    ("俄罗斯远东海洋渔业公司", "Russian Fishery Company", "RU", "Vladivostok", "fisheries", "online", "withdrawn", None, "鳕鱼", "Ivan Petrov", "ivan.petrov@russianfishery.ru"),
    ("澳大利亚奥斯塔尔船厂", "Austal Ltd.", "AU", "Henderson", "shipbuilding", "online", "approved", "2100", "高速铝合金船", "Emily Brown", "emily.brown@austal.com"),
    ("美国国际海洋科技公司", "Ocean Power Technologies, Inc.", "US", "Monroe Township", "energy", "online", "applied", None, "波浪能浮标", "Michael Johnson", "m.johnson@oceanpowertech.com"),
    ("智利海洋产品公司", "Blumar Seafoods S.A.", "CL", "Talcahuano", "fisheries", "online", "approved", "1600", "三文鱼", "Diego Fernández", "diego.fernandez@blumar.com"),
]

# Chinese exhibitors get a unified social credit code with a valid check character.
_CODE_BODY = "91370211MA3C{:04d}X"


def _credit_code(index: int) -> str:
    body = _CODE_BODY.format(index)[:17].ljust(17, "0")
    return body + credit_code_check_char(body)


def _add_booths(event: Event) -> None:
    if db.session.scalar(select(Booth.id).where(Booth.event_id == event.id).limit(1)):
        return
    booths = [Booth(event_id=event.id, hall=hall, code=f"{hall}{n:02d}",
                    area_m2=Decimal(size))
              for hall, count, size in (("A", 20, "36"), ("B", 20, "18"), ("C", 10, "9"))
              for n in range(1, count + 1)]
    db.session.add_all(booths)
    db.session.flush()


def _organization(index: int, row) -> Organization:
    name_zh, name_en, country, city, cluster = row[:5]
    org = db.session.scalar(select(Organization)
                            .where(Organization.name_zh_key == normalize_name(name_zh)))
    if org is None:
        data = {"name_zh": name_zh, "name_en": name_en, "country": country, "city": city,
                "cluster_code": cluster, "email": row[10]}
        if country == "CN":
            data["credit_code"] = _credit_code(index)
        org = new_organization(data)
        db.session.flush()
    return org


def seed_demo() -> Event:
    """The 2020 edition and its exhibitors; only what is missing is added (commits)."""
    event = db.session.scalar(select(Event).where(Event.name_zh == EDITION))
    if event is None:
        event = Event(name_zh=EDITION, name_en="2020 East Asia Marine Expo", year=2020,
                      starts_on=date(2020, 11, 20), ends_on=date(2020, 11, 22),
                      venue="青岛西海岸新区国际会展中心 (online + offline)", halls="A, B, C",
                      registration_deadline=date(2020, 11, 10), public_registration_open=False)
        db.session.add(event)
        db.session.flush()
    _add_booths(event)
    booths = iter(free_booths(event.id))
    registered = set(db.session.scalars(select(Exhibitor.organization_id)
                                        .where(Exhibitor.event_id == event.id)))
    for index, row in enumerate(EXHIBITORS):
        org = _organization(index, row)
        if org.id in registered:
            continue
        mode, status, deal, exhibits, contact_name, contact_email = row[5:11]
        contact = Contact(organization_id=org.id, name=contact_name, email=contact_email,
                          language="zh_CN" if org.country == "CN" else "en")
        db.session.add(contact)
        db.session.flush()
        on_site = mode != "online" and status not in ("rejected", "withdrawn")
        db.session.add(Exhibitor(
            event_id=event.id, organization_id=org.id, status=status, mode=mode,
            status_reason={"rejected": "展品与本届主题不符", "withdrawn": "因疫情无法参展"}.get(status),
            booth_id=next(booths).id if on_site else None, exhibits=exhibits,
            intended_deal_wan=Decimal(deal) if deal else None, contact_id=contact.id,
            source="web", checked_in_at=datetime(2020, 11, 20, 1, 30) if status == "checked_in"
            else None))
    db.session.commit()
    return event
