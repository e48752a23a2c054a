"""The demo catalogue: warehouses, products with bilingual customs data, bundles and suppliers, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.validators import gtin_check_digit

# GS1 prefixes 690-699 belong to China; the company part is made up, the check digits are real.
BARCODE_STEM = "697531"


def demo_barcode(number: int) -> str:
    """A valid EAN-13 for the ``number``-th demo product."""
    body = f"{BARCODE_STEM}{number:06d}"
    return body + str(gtin_check_digit(body))


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    declared_name_en: str
    declared_name_zh: str
    hs_code: str
    weight_g: int
    dimensions_mm: tuple[int, int, int]
    declared_value_usd: str
    cost_cny: str
    supplier: str  # key of the preferred supplier in SUPPLIERS
    contains_battery: bool = False
    contains_liquid: bool = False


@dataclass(frozen=True)
class DemoBundle:
    sku: str
    name: str
    declared_name_en: str
    declared_name_zh: str
    components: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class DemoSupplier:
    key: str
    name: str
    contact_name: str
    email: str
    phone: str
    address: str
    lead_time_days: int
    sku_prefix: str


@dataclass(frozen=True)
class DemoWarehouse:
    code: str
    name: str
    kind: str
    country: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    contact_name: str
    phone: str
    priority: int


# Structured rack codes (A-01-02-03) plus the few named work areas every warehouse has.
BIN_CODE_PATTERN = r"^([A-Z]{1,3}-\d{2}-\d{2}-\d{2}|(RCV|PACK|QC|SHIP)-\d{2})$"

WAREHOUSES: tuple[DemoWarehouse, ...] = (
    DemoWarehouse(
        code="SZ",
        name="Shenzhen Longhua warehouse",
        kind="own",
        country="CN",
        address_line1="Building 5, Huafeng Zhigu Industrial Park, 268 Donghuan 2nd Road",
        address_line2="Dalang Subdistrict, Longhua District",
        city="Shenzhen",
        state="Guangdong",
        postal_code="518109",
        contact_name="Chen Jing",
        phone="+86 755 2818 6620",
        priority=10,
    ),
    DemoWarehouse(
        code="LA",
        name="Los Angeles overseas warehouse (Ontario, CA)",
        kind="overseas",
        country="US",
        address_line1="3250 E Guasti Rd, Suite 120",
        address_line2="",
        city="Ontario",
        state="CA",
        postal_code="91761",
        contact_name="Maria Lopez",
        phone="+1 909 555 0142",
        priority=20,
    ),
)

# Rack layout per warehouse: (zones, aisles, racks, levels, bin kind); ranges are inclusive.
RACK_LAYOUTS: dict[str, tuple[tuple[list[str], tuple[int, int], tuple[int, int], tuple[int, int], str], ...]] = {
    "SZ": (
        (["A", "B"], (1, 5), (1, 6), (1, 4), "pick"),
        (["C"], (1, 2), (1, 6), (1, 4), "bulk"),
    ),
    "LA": ((["A"], (1, 2), (1, 5), (1, 3), "pick"),),
}

# Work-area bins per warehouse: (code, kind).
WORK_AREA_BINS: dict[str, tuple[tuple[str, str], ...]] = {
    "SZ": (
        ("RCV-01", "receiving"),
        ("RCV-02", "receiving"),
        ("QC-01", "quarantine"),
        ("PACK-01", "packing"),
        ("PACK-02", "packing"),
        ("PACK-03", "packing"),
        ("SHIP-01", "shipping"),
    ),
    "LA": (
        ("RCV-01", "receiving"),
        ("QC-01", "quarantine"),
        ("PACK-01", "packing"),
        ("SHIP-01", "shipping"),
    ),
}

SUPPLIERS: tuple[DemoSupplier, ...] = (
    DemoSupplier(
        key="electronics",
        name="Shenzhen Jiahong Electronic Technology Co., Ltd. (深圳市佳泓电子科技有限公司)",
        contact_name="Liu Wei (刘伟)",
        email="sales@jiahong-elec.example.cn",
        phone="+86 755 8362 1185",
        address="4F, Block B, Tianan Cyber Park, Huangge Road, Longgang District, Shenzhen, Guangdong 518172, China",
        lead_time_days=10,
        sku_prefix="JH",
    ),
    DemoSupplier(
        key="general",
        name="Yiwu Xinyue Trading Co., Ltd. (义乌市鑫悦贸易有限公司)",
        contact_name="Zhang Min (张敏)",
        email="order@xinyue-trade.example.cn",
        phone="+86 579 8552 3307",
        address="Shop 21385, District 2, Yiwu International Trade City, Yiwu, Zhejiang 322000, China",
        lead_time_days=5,
        sku_prefix="XY",
    ),
)

# fmt: off
P = DemoProduct
PRODUCTS: tuple[DemoProduct, ...] = (
    # Phone accessories
    P("PC-IP15-CLR", "Clear TPU case for iPhone 15", "Phone case (TPU)", "手机壳", "392690", 38, (160, 85, 15), "2.50", "3.20", "electronics"),
    P("PC-IP15P-BLK", "Matte black silicone case for iPhone 15 Pro", "Phone case (silicone)", "手机壳", "392690", 42, (160, 85, 15), "3.20", "4.80", "electronics"),
    P("PC-IP15-MAG", "MagSafe-compatible clear case for iPhone 15", "Phone case (TPU with magnet ring)", "磁吸手机壳", "392690", 55, (165, 90, 18), "4.00", "6.50", "electronics"),
    P("PC-S24-CLR", "Clear case for Samsung Galaxy S24", "Phone case (TPU)", "手机壳", "392690", 36, (158, 80, 14), "2.50", "3.10", "electronics"),
    P("SP-IP15-GLS", "Tempered glass screen protector for iPhone 15 (2-pack)", "Screen protector (tempered glass)", "手机钢化膜", "700719", 60, (180, 95, 10), "1.80", "2.10", "electronics"),
    P("AC-PHONE-STD", "Adjustable aluminium phone stand", "Phone stand (aluminium)", "手机支架", "761699", 180, (120, 80, 40), "4.50", "9.80", "electronics"),
    # Cables and chargers
    P("CBL-USBC-1M", "USB-C to USB-C cable 60 W, 1 m", "Data cable (USB)", "数据线", "854442", 32, (110, 80, 20), "1.60", "2.30", "electronics"),
    P("CBL-USBC-2M", "USB-C to USB-C cable 100 W, 2 m", "Data cable (USB)", "数据线", "854442", 58, (120, 90, 25), "2.40", "4.10", "electronics"),
    P("CBL-LTN-1M", "USB-A to Lightning cable, 1 m", "Data cable (USB)", "数据线", "854442", 30, (110, 80, 20), "1.50", "2.60", "electronics"),
    P("CBL-MICRO-1M", "USB-A to Micro-USB cable, 1 m", "Data cable (USB)", "数据线", "854442", 28, (110, 80, 20), "0.90", "1.20", "electronics"),
    P("CBL-HDMI-2M", "HDMI 2.1 cable 8K, 2 m", "HDMI cable", "HDMI线", "854442", 120, (150, 110, 30), "3.50", "7.20", "electronics"),
    P("CHG-20W-EU", "20 W USB-C wall charger, EU plug", "Charger (AC adapter)", "充电器", "850440", 48, (60, 45, 30), "3.80", "6.90", "electronics"),
    P("CHG-20W-US", "20 W USB-C wall charger, US plug", "Charger (AC adapter)", "充电器", "850440", 45, (60, 45, 30), "3.80", "6.70", "electronics"),
    P("CHG-65W-GAN", "65 W GaN charger, 3 ports", "Charger (AC adapter)", "氮化镓充电器", "850440", 120, (75, 60, 35), "9.50", "24.00", "electronics"),
    P("CHG-CAR-38W", "38 W dual-port car charger", "Car charger", "车载充电器", "850440", 40, (70, 40, 30), "2.80", "5.50", "electronics"),
    P("CHG-WL-15W", "15 W wireless charging pad", "Wireless charger", "无线充电器", "850440", 95, (110, 110, 25), "4.60", "11.00", "electronics"),
    P("AC-HUB-7IN1", "USB-C hub 7-in-1 (HDMI, SD, 3 × USB-A, PD)", "USB hub", "USB集线器", "847180", 85, (130, 60, 20), "8.90", "22.50", "electronics"),
    # Batteries inside: they change which shipping methods and carriers can take the parcel.
    P("PB-10K-WHT", "10000 mAh slim power bank, white", "Power bank (lithium-ion battery)", "移动电源", "850760", 210, (140, 70, 15), "8.50", "29.00", "electronics", contains_battery=True),
    P("PB-20K-BLK", "20000 mAh power bank 22.5 W, black", "Power bank (lithium-ion battery)", "移动电源", "850760", 380, (150, 75, 28), "12.00", "45.00", "electronics", contains_battery=True),
    P("PB-5K-MAG", "5000 mAh magnetic power bank", "Power bank (lithium-ion battery)", "磁吸移动电源", "850760", 130, (100, 65, 15), "9.00", "32.00", "electronics", contains_battery=True),
    P("EB-TWS-BLK", "True wireless earbuds with charging case, black", "Bluetooth earphones", "蓝牙耳机", "851830", 60, (90, 90, 40), "9.90", "28.00", "electronics", contains_battery=True),
    P("EB-TWS-WHT", "True wireless earbuds with charging case, white", "Bluetooth earphones", "蓝牙耳机", "851830", 60, (90, 90, 40), "9.90", "28.00", "electronics", contains_battery=True),
    P("AC-MOUSE-SLT", "Silent wireless mouse, rechargeable", "Computer mouse", "无线鼠标", "847160", 75, (115, 70, 40), "4.20", "12.50", "electronics", contains_battery=True),
    P("AC-KB-BT", "Slim Bluetooth keyboard, rechargeable", "Computer keyboard", "蓝牙键盘", "847160", 320, (290, 130, 25), "11.50", "38.00", "electronics", contains_battery=True),
    P("LED-NIGHT-2P", "Motion sensor night light, rechargeable (2-pack)", "LED night light", "感应小夜灯", "940542", 140, (110, 80, 50), "5.20", "13.00", "electronics", contains_battery=True),
    # Lighting
    P("LED-5M-RGB", "RGB LED strip 5 m with remote", "LED light strip", "LED灯带", "940542", 260, (120, 120, 45), "6.50", "16.00", "electronics"),
    P("LED-10M-RGB", "RGB LED strip 10 m with app control", "LED light strip", "LED灯带", "940542", 420, (150, 150, 50), "10.50", "27.00", "electronics"),
    P("LED-USB-2M", "USB LED TV backlight strip, 2 m", "LED light strip", "LED灯带", "940542", 110, (100, 100, 30), "3.90", "8.50", "electronics"),
    P("LED-RING-10", "10-inch LED ring light with tripod", "LED fill light", "补光灯", "940542", 780, (300, 280, 70), "12.00", "36.00", "electronics"),
    # Liquids: most carriers need them declared, some refuse them.
    P("LQ-PERF-30", "Eau de parfum travel spray 30 ml, floral", "Perfume", "香水", "330300", 95, (60, 35, 110), "6.00", "12.00", "general", contains_liquid=True),
    P("LQ-PERF-50", "Eau de parfum 50 ml, woody", "Perfume", "香水", "330300", 160, (70, 45, 130), "9.50", "19.00", "general", contains_liquid=True),
    P("LQ-NAIL-6P", "Gel nail polish set, 6 × 8 ml", "Nail polish", "指甲油", "330430", 190, (150, 90, 60), "5.80", "14.00", "general", contains_liquid=True),
    P("LQ-OIL-6P", "Essential oil set for diffusers, 6 × 10 ml", "Essential oils", "精油", "330129", 170, (120, 80, 70), "6.80", "15.50", "general", contains_liquid=True),
    P("LQ-LENS-CLN", "Lens and screen cleaning spray 100 ml", "Cleaning spray", "清洁剂", "340290", 140, (45, 45, 150), "2.20", "4.00", "general", contains_liquid=True),
    # Garden
    P("GT-PRUNER", "Bypass pruning shears, SK5 blade", "Pruning shears", "修枝剪", "820150", 240, (210, 70, 25), "4.80", "11.00", "general"),
    P("GT-TROWEL", "Stainless steel hand trowel", "Hand trowel (garden tool)", "园艺铲", "820190", 200, (300, 90, 40), "3.20", "7.50", "general"),
    P("GT-GLOVES", "Garden gloves with claws (pair)", "Gardening gloves (rubber)", "园艺手套", "401519", 110, (250, 130, 20), "2.40", "4.50", "general"),
    P("GT-HOSE-NZL", "Garden hose spray nozzle, 8 patterns", "Hose nozzle", "水管喷头", "848180", 230, (180, 110, 50), "4.10", "9.00", "general"),
    P("GT-SPRAY-2L", "Hand pressure sprayer 2 l", "Garden sprayer", "园艺喷壶", "842441", 360, (300, 130, 130), "4.90", "12.00", "general"),
    # Home and kitchen
    P("HK-SILI-LID", "Silicone stretch lids (6-pack)", "Silicone lids", "硅胶保鲜盖", "392410", 210, (160, 160, 30), "3.40", "6.80", "general"),
    P("HK-SHARPEN", "3-stage kitchen knife sharpener", "Knife sharpener", "磨刀器", "821490", 170, (200, 60, 60), "3.60", "8.20", "general"),
    P("HK-MUG-450", "Stainless steel travel mug 450 ml", "Vacuum flask", "保温杯", "961700", 320, (90, 90, 220), "6.20", "16.00", "general"),
    P("HK-DRAWER-8", "Drawer organiser trays (8-piece set)", "Storage boxes (plastic)", "收纳盒", "392490", 450, (240, 160, 60), "5.50", "13.50", "general"),
    # Beauty, toys, pets, stationery
    P("BT-BRUSH-10", "Makeup brush set, 10 pieces", "Makeup brushes", "化妆刷", "960329", 150, (190, 80, 40), "4.30", "9.60", "general"),
    P("BT-CLAW-4P", "Claw hair clips (4-pack)", "Hair clips", "发夹", "961519", 90, (120, 100, 50), "2.00", "3.80", "general"),
    P("TY-POP-FDG", "Silicone pop fidget toy", "Toy (silicone)", "解压玩具", "950300", 60, (130, 130, 15), "1.50", "2.40", "general"),
    P("TY-BALLOON-120", "Balloon arch kit, 120 pieces", "Party balloons", "气球", "950590", 380, (220, 160, 60), "4.80", "10.50", "general"),
    P("PT-LEASH-5M", "Retractable dog leash 5 m", "Pet leash", "宠物牵引绳", "420100", 290, (170, 120, 60), "5.20", "12.80", "general"),
    P("PT-GROOM", "Self-cleaning pet grooming brush", "Pet brush", "宠物梳", "960390", 140, (180, 110, 50), "3.30", "7.40", "general"),
    P("ST-NOTE-A5", "A5 dotted notebook, hard cover", "Notebook (paper)", "笔记本", "482010", 300, (215, 150, 18), "2.90", "6.00", "general"),
    P("WB-SW41-BLK", "Silicone watch band 41 mm, black", "Watch strap (silicone)", "表带", "911390", 22, (120, 60, 15), "1.20", "1.90", "general"),
    P("WB-SW45-NAV", "Silicone watch band 45 mm, navy", "Watch strap (silicone)", "表带", "911390", 24, (120, 60, 15), "1.20", "1.90", "general"),
)
del P
# fmt: on

BUNDLES: tuple[DemoBundle, ...] = (
    DemoBundle(
        "BDL-IP15-KIT",
        "iPhone 15 starter kit: clear case, screen protector and USB-C cable",
        "Phone case, screen protector and data cable",
        "手机壳、钢化膜和数据线套装",
        (("PC-IP15-CLR", 1), ("SP-IP15-GLS", 1), ("CBL-USBC-1M", 1)),
    ),
    DemoBundle(
        "BDL-CBL-3PK",
        "USB-C to USB-C cable 1 m, 3-pack",
        "Data cables (USB)",
        "数据线三条装",
        (("CBL-USBC-1M", 3),),
    ),
    DemoBundle(
        "BDL-GARDEN-3",
        "Garden starter set: pruning shears, trowel and gloves",
        "Garden tool set",
        "园艺工具套装",
        (("GT-PRUNER", 1), ("GT-TROWEL", 1), ("GT-GLOVES", 1)),
    ),
)

# A few products are also sold by the other supplier, at a higher price and never preferred.
SECOND_SOURCE_MARKUP = Decimal("1.15")
SECOND_SOURCE_SKUS: tuple[str, ...] = ("CBL-USBC-1M", "CBL-LTN-1M", "LED-5M-RGB", "TY-POP-FDG", "HK-SILI-LID")


# --- Stock and work in progress --------------------------------------------------------------------------------

# One demo user per role (username, role, first name, last name); they log in with the admin's password.
USERS: tuple[tuple[str, str, str, str], ...] = (
    ("manager", "Warehouse manager", "Jing", "Chen"),
    ("picker", "Picker/packer", "Qiang", "Wang"),
    ("purchaser", "Purchaser", "Min", "Zhang"),
    ("service", "Customer service", "Li", "Zhou"),
    ("partner", "API partner", "Maria", "Lopez"),
)

# Every ninth product has no stock yet: the home page's "products without stock" has something to show.
UNSTOCKED_EVERY = 9
# The overseas warehouse stocks the first products of the catalogue (the fast movers).
OVERSEAS_PRODUCTS = 20
# Of those with stock in Shenzhen, the first ones also have cartons in the bulk zone.
BULK_PRODUCTS = 15

# Orders waiting in Shenzhen: (reference, SKU, quantity); the first two are picked, the first shipped.
ORDER_LINES: tuple[tuple[str, str, int], ...] = (
    ("order-line:AMZ-114-3920117-1", "CBL-USBC-1M", 2),
    ("order-line:AMZ-114-3920117-2", "PC-IP15-CLR", 1),
    ("order-line:EBY-27-11842-1", "LED-5M-RGB", 1),
    ("order-line:SHP-1043-1", "TY-POP-FDG", 3),
    ("order-line:ALI-8142003-1", "HK-SILI-LID", 2),
    ("order-line:WSH-61f2a9-1", "CBL-LTN-1M", 1),
)
PICKED_ORDER_LINES = 2
SHIPPED_ORDER_LINES = 1

# Sea freight to Ontario: (SKU, quantity) out of Shenzhen's bulk zone.
TRANSFER_LINES: tuple[tuple[str, int], ...] = (("CBL-USBC-1M", 60), ("PC-IP15-CLR", 40), ("LED-5M-RGB", 30))
TRANSFER_NOTE = "Demo: sea freight to Ontario, container COSU6231045820"
TRANSFER_CARRIER_REFERENCE = "COSU6231045820"
COUNT_ZONE = "B"
COUNT_NOTE = "Demo: cycle count of zone B"


# --- Stores ----------------------------------------------------------------------------------------------------

# An eBay store whose platform cannot be reached: its health page says so.
UNREACHABLE_STORE = "eBay UK (demo, not connected)"
# A store without an API: its orders come from a spreadsheet.
SPREADSHEET_STORE = "Independent site (spreadsheet)"
# The self-printed postal account (labels rendered by Seabridge, S10 numbers from a range).
POST_ACCOUNT = "China Post 中国邮政 (demo)"

# (order id, days ago, name, address, city, state, postcode, country, lines as (sku, quantity, price))
SPREADSHEET_ORDERS = (
    ("WEB-1001", 1, "Emily Clark", "44 Elm Street", "Portland", "OR", "97201", "US", (("PC-IP15-CLR", 2, "12.99"),)),
    ("WEB-1002", 1, "Lukas Wagner", "Lindenstraße 8", "München", "", "80331", "DE", (("CBL-USBC-1M", 3, "6.50"),)),
    (
        "WEB-1003",
        2,
        "Chloé Dubois",
        "15 avenue Victor Hugo",
        "Paris",
        "",
        "75016",
        "FR",
        (("LED-5M-RGB", 1, "19.90"), ("CBL-USBC-2M", 1, "7.90")),
    ),
    ("WEB-1004", 3, "Jack Wilson", "9 King St", "Melbourne", "VIC", "3000", "AU", (("PB-10K-WHT", 1, "29.00"),)),
    ("WEB-1005", 4, "佐藤 健", "西新宿2-8-1", "新宿区", "東京都", "163-8001", "JP", (("EB-TWS-BLK", 1, "3980"),)),
)


def spreadsheet_orders_csv() -> str:
    """The demo's spreadsheet of orders (docs/orders.md), one row per line, dated relative to today."""
    import csv
    import io
    from datetime import date, timedelta

    stream = io.StringIO()
    writer = csv.writer(stream)
    writer.writerow(
        ["order_id", "ordered_at", "ship_name", "ship_address1", "ship_city", "ship_state", "ship_postcode",
         "ship_country", "currency", "sku", "quantity", "unit_price"]
    )  # fmt: skip
    currencies = {"US": "USD", "DE": "EUR", "FR": "EUR", "AU": "AUD", "JP": "JPY"}
    for order_id, days, name, address, city, state, postcode, country, lines in SPREADSHEET_ORDERS:
        when = f"{date.today() - timedelta(days=days)} 10:30"
        for sku, quantity, price in lines:
            writer.writerow([order_id, when, name, address, city, state, postcode, country, currencies[country], sku,
                             quantity, price])  # fmt: skip
    return stream.getvalue()


# --- Carriers, shipping methods and their rate cards (made-up prices in the shape of real ones) -------------------

CARRIERS = (("YUNEXPRESS", "YunExpress 云途"), ("4PX", "4PX 递四方"), ("DHL", "DHL Express"))


def _per_kg(up_to: int, price: str, registration: str | None = None) -> dict:
    bracket = {"max_weight_g": up_to, "pricing": "per_kg", "price_per_kg": Decimal(price)}
    if registration is not None:
        bracket["registration_fee"] = Decimal(registration)
    return bracket


def _first_additional(up_to: int, first_g: int, first: str, unit_g: int, price: str) -> dict:
    return {
        "max_weight_g": up_to,
        "pricing": "first_additional",
        "first_weight_g": first_g,
        "first_price": Decimal(first),
        "additional_unit_g": unit_g,
        "additional_price": Decimal(price),
    }


SHIPPING_METHODS = (
    (
        {
            "carrier": "YUNEXPRESS",
            "code": "YT-STD",
            "name": "YunExpress Global Direct Standard 云途全球专线挂号（标快）",
            "carrier_product_code": "THPHR",
            "service_level": "standard",
            "countries": ["US", "GB", "DE", "FR", "AU", "JP", "CA"],
            "max_weight_g": 30000,
            "max_length_mm": 1200,
            "allows_battery": True,
            "transit_days_min": 7,
            "transit_days_max": 12,
            "marketplace_carrier_codes": {"amazon": "YunExpress", "ebay": "YunExpress", "aliexpress": "OTHER"},
        },
        {
            "name": "YT-STD 2026",
            "currency": "CNY",
            "volumetric_divisor": 8000,
            "weight_step_g": 1,
            "registration_fee": Decimal("18"),
            "fuel_surcharge_percent": Decimal("0"),
        },
        [
            {"code": "US", "countries": ["US"], "brackets": [_per_kg(450, "92"), _per_kg(30000, "86", "20")]},
            {
                "code": "US-W",
                "countries": ["US"],
                "postcode_prefixes": ["9"],
                "brackets": [_per_kg(450, "88"), _per_kg(30000, "82", "20")],
            },
            {"code": "GB", "countries": ["GB"], "brackets": [_per_kg(30000, "63", "16")]},
            {"code": "EU", "countries": ["DE", "FR"], "brackets": [_per_kg(30000, "70", "19")]},
            {"code": "APAC", "countries": ["AU", "JP"], "brackets": [_per_kg(30000, "75", "17")]},
        ],
    ),
    (
        {
            "carrier": "4PX",
            "code": "4PX-ECO",
            "name": "4PX Economy 递四方经济小包",
            "carrier_product_code": "A1",
            "service_level": "economy",
            "tracked": False,
            "countries": ["US", "GB", "DE", "FR"],
            "max_weight_g": 2000,
            "max_dimensions_sum_mm": 900,
            "transit_days_min": 12,
            "transit_days_max": 25,
            "marketplace_carrier_codes": {"amazon": "4PX", "ebay": "4PX"},
        },
        {"name": "4PX-ECO 2026", "currency": "CNY", "weight_step_g": 10, "registration_fee": Decimal("0")},
        [
            {"code": "US", "countries": ["US"], "brackets": [_per_kg(2000, "75")]},
            {"code": "EU", "countries": ["GB", "DE", "FR"], "brackets": [_per_kg(2000, "58")]},
        ],
    ),
    (
        {
            "carrier": "DHL",
            "code": "DHL-EXP",
            "name": "DHL Express Worldwide",
            "carrier_product_code": "P",
            "service_level": "express",
            "countries": [],
            "max_weight_g": 70000,
            "allows_battery": True,
            "transit_days_min": 3,
            "transit_days_max": 5,
            "marketplace_carrier_codes": {"amazon": "DHL", "ebay": "DHL", "shopify": "DHL Express"},
        },
        {
            "name": "DHL-EXP 2026",
            "currency": "CNY",
            "volumetric_divisor": 5000,
            "weight_step_g": 500,
            "fuel_surcharge_percent": Decimal("24.5"),
            "registration_fee": Decimal("0"),
        },
        [
            {"code": "Z6", "countries": ["US", "CA"], "brackets": [_first_additional(70000, 500, "260", 500, "62")]},
            {
                "code": "Z7",
                "countries": ["GB", "DE", "FR"],
                "brackets": [_first_additional(70000, 500, "240", 500, "55")],
            },
            {"code": "Z3", "countries": ["AU", "JP"], "brackets": [_first_additional(70000, 500, "190", 500, "40")]},
        ],
    ),
    (
        {
            "carrier": "YUNEXPRESS",
            "code": "YT-SENS",
            "name": "YunExpress Sensitive Goods 云途特货专线（带电、液体）",
            "carrier_product_code": "THZXR",
            "service_level": "standard",
            "countries": ["US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "AU", "JP"],
            "max_weight_g": 20000,
            "max_length_mm": 1000,
            "allows_battery": True,
            "allows_liquid": True,
            "transit_days_min": 10,
            "transit_days_max": 18,
            "marketplace_carrier_codes": {"amazon": "YunExpress", "ebay": "YunExpress", "aliexpress": "OTHER"},
        },
        {
            "name": "YT-SENS 2026",
            "currency": "CNY",
            "volumetric_divisor": 8000,
            "weight_step_g": 1,
            "registration_fee": Decimal("22"),
            "fuel_surcharge_percent": Decimal("0"),
        },
        [
            {"code": "NA", "countries": ["US", "CA"], "brackets": [_per_kg(20000, "118")]},
            {"code": "EU", "countries": ["GB", "DE", "FR", "ES", "IT", "NL"], "brackets": [_per_kg(20000, "96")]},
            {"code": "APAC", "countries": ["AU", "JP"], "brackets": [_per_kg(20000, "99")]},
        ],
    ),
)


# --- Allocation rules --------------------------------------------------------------------------------------------

BLACKLIST = (("email", "chargeback@example.com", "Two chargebacks in 2026"),)

ALLOCATION_RULES = (
    {
        "name": "Blacklisted buyers: hold 黑名单买家挂起",
        "priority": 5,
        "conditions": [{"field": "blacklisted", "op": "is", "value": True}],
        "actions": [{"type": "hold", "reason": "On the blacklist: check before shipping"}],
        "stop": True,
    },
    {
        "name": "Incomplete address: hold 地址不完整挂起",
        "priority": 6,
        "conditions": [{"field": "address_ok", "op": "is", "value": False}],
        "actions": [{"type": "hold", "reason": "Address incomplete: fix it or ask the buyer"}],
    },
    {
        "name": "High value: check before shipping 高价值订单人工审核",
        "priority": 10,
        "conditions": [{"field": "order_total", "op": "gt", "value": "500"}],
        "actions": [
            {"type": "hold", "reason": "Order over 500: check the buyer first"},
            {"type": "add_tag", "tag": "high-value"},
        ],
    },
    {
        "name": "US West Coast from Los Angeles 美西订单走洛杉矶仓",
        "priority": 20,
        "conditions": [
            {"field": "country", "op": "in", "value": ["US"]},
            {"field": "postcode", "op": "starts_with", "value": ["9", "83", "84", "85", "86", "87", "88", "89"]},
        ],
        "actions": [{"type": "set_warehouse", "warehouse": "LA"}],
    },
    {
        "name": "Batteries by YunExpress 带电产品走云途",
        "priority": 30,
        "conditions": [{"field": "has_battery", "op": "is", "value": True}],
        "actions": [{"type": "set_method", "method": "YT-STD"}],
    },
    {
        "name": "Everything else: Shenzhen, cheapest method 其余订单深圳发货选最便宜渠道",
        "priority": 100,
        "conditions": [],
        "actions": [
            {"type": "set_warehouse", "warehouse": "SZ"},
            {"type": "cheapest_method", "methods": ["YT-STD", "4PX-ECO", "DHL-EXP"]},
        ],
    },
)

# The buyer's demo: Ontario is refilled from Shenzhen by sea; a purchase order to the electronics supplier is due at
# Shenzhen today, for the floor's receive page (Purchasing → Purchase orders, then /scan/receive/).
OVERSEAS_POLICY_NAME = "Ontario: sea freight from Shenzhen"
PURCHASE_ORDER_NOTE = "Demo: the weekly order of cables and chargers"
PURCHASE_ORDER_LINES: tuple[tuple[str, int], ...] = (("CBL-USBC-1M", 200), ("PC-IP15-CLR", 100))
