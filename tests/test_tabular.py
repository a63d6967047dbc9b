"""The shared tabular machinery: reading (encodings, XLSX, limits, hostile files), parsers,
the preview/commit steps with a small spec, exports with formula escaping, templates."""
import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from crm.tabular import (Column, ImportSpec, TabularError, build_preview, choice, country,
                         date_value, decimal, escape_formula, read_rows, template_xlsx,
                         write_csv, write_xlsx)
from crm.tabular.export import download


def xlsx_bytes(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


class Fruit(ImportSpec):
    """A minimal spec: the natural key is the name."""

    name = "fruit"

    @property
    def columns(self):
        return [Column("name", "名称", "Name", required=True),
                Column("price", "价格(元)", "Price", decimal(), aliases=("单价",)),
                Column("origin", "产地", "Origin", country())]

    def natural_key(self, values):
        return values["name"].casefold()


CSV_TEXT = "名称,价格(元),产地\n苹果,\"1,234.50\",中国\n香蕉,abc,日本\n\n梨,-1,火星\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_csv_encodings(app, encoding):
    rows = read_rows(CSV_TEXT.encode(encoding), "list.csv")
    assert rows[0] == (1, ["名称", "价格(元)", "产地"])
    assert rows[1] == (2, ["苹果", "1,234.50", "中国"])
    assert [n for n, _ in rows] == [1, 2, 3, 5]  # the blank line is skipped, numbers kept


def test_semicolon_and_tab_separated(app):
    assert read_rows("a;b\n1;2\n".encode(), "x.csv")[1] == (2, ["1", "2"])
    assert read_rows("a\tb\n1\t2\n".encode(), "x.txt")[1] == (2, ["1", "2"])


def test_preview_reports_errors_by_row_and_column(app):
    preview = build_preview(Fruit(), CSV_TEXT.encode("gb18030"), "list.csv")
    assert [r.number for r in preview.valid_rows] == [2]
    assert preview.valid_rows[0].values == {"name": "苹果", "price": Decimal("1234.50"),
                                            "origin": "CN"}
    errors = preview.errors(Fruit(), "zh_CN")
    assert [(n, col) for n, col, _ in errors] == [(3, "价格(元)"), (5, "价格(元)"), (5, "产地")]
    assert all(reason for _, _, reason in errors)


def test_english_headers_aliases_and_ignored_columns(app):
    data = xlsx_bytes([["NAME", "单价", "Origin ", "Colour"], ["Apple", 2.5, "Japan", "red"],
                       ["apple", 3, "JP", "green"]])
    preview = build_preview(Fruit(), data, "fruit.xlsx")
    assert preview.ignored_headers == ["Colour"]
    assert preview.valid_rows[0].values == {"name": "Apple", "price": Decimal("2.50"),
                                            "origin": "JP"}
    # Same natural key twice: the later row is refused.
    assert preview.error_rows[0].number == 3 and "2" in preview.error_rows[0].errors[0][1]


def test_missing_required_column_and_empty_files(app):
    with pytest.raises(TabularError) as err:
        build_preview(Fruit(), "价格\n1\n".encode(), "x.csv")
    assert "名称" in err.value.message
    with pytest.raises(TabularError):
        build_preview(Fruit(), "名称\n".encode(), "x.csv")
    with pytest.raises(TabularError):
        build_preview(Fruit(), b"", "x.csv")
    with pytest.raises(TabularError):
        build_preview(Fruit(), "名称,名称\n苹果,梨\n".encode(), "x.csv")


def test_size_and_row_limits(app):
    app.config.update(TABULAR_MAX_BYTES=1024, TABULAR_MAX_ROWS=3)
    try:
        with pytest.raises(TabularError) as err:
            read_rows(b"a\n" + b"x" * 2000, "big.csv")
        assert "MB" in err.value.message
        assert len(read_rows("名称\n1\n2\n3\n".encode(), "ok.csv")) == 4
        with pytest.raises(TabularError) as err:
            read_rows("名称\n1\n2\n3\n4\n".encode(), "many.csv")
        assert "3" in err.value.message
        with pytest.raises(TabularError):
            read_rows(xlsx_bytes([["名称"], [1], [2], [3], [4]]), "many.xlsx")
    finally:
        del app.config["TABULAR_MAX_BYTES"], app.config["TABULAR_MAX_ROWS"]


def test_zip_bomb_is_refused_before_openpyxl_opens_it(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (60 * 1024 * 1024))
    data = buffer.getvalue()
    assert len(data) < 200 * 1024  # small on the wire, 60 MB once expanded
    with pytest.raises(TabularError) as err:
        read_rows(data, "bomb.xlsx")
    assert "压缩炸弹" in err.value.message


@pytest.mark.parametrize("data, name", [
    (b"PK\x03\x04 not really a zip", "broken.xlsx"),
    (b"just text pretending", "fake.xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls"),
    (b"%PDF-1.4", "doc.pdf"),
    (b"\x00\x01\x02binary", "bin.csv"),
    ("名称\n\"苹果\n".encode("utf-8") + b"\xff\xfe\xfa", "bad-encoding.csv"),
])
def test_malformed_files_get_a_clear_message(app, data, name):
    with pytest.raises(TabularError) as err:
        read_rows(data, name)
    assert err.value.message


def test_zip_without_a_workbook_is_refused(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(TabularError):
        read_rows(buffer.getvalue(), "x.xlsx")


def test_parsers(app):
    assert decimal()(1234.5) == Decimal("1234.50")
    assert decimal()("１２３") == Decimal("123.00")
    for bad in ("-1", "1.234", "abc", "NaN"):
        with pytest.raises(ValueError):
            decimal()(bad)
    assert date_value()("2020年11月20日") == date(2020, 11, 20)
    assert date_value()("2020/11/2") == date(2020, 11, 2)
    with pytest.raises(ValueError):
        date_value()("2020-02-30")
    parse = choice({"线上": "online", "online": "online"})
    assert parse(" ONLINE ") == "online" and parse("线上") == "online"
    with pytest.raises(ValueError):
        parse("offline")
    assert country()("韩国") == "KR" and country()("germany") == "DE" and country()("sg") == "SG"


def test_formula_escaping_in_exports_and_round_trip(app):
    nasty = ["=HYPERLINK(\"http://x\")", "+86 532 1234", "-1", "@SUM(A1)", "\tTab", "plain"]
    assert [escape_formula(v) for v in nasty] == ["'=HYPERLINK(\"http://x\")", "'+86 532 1234",
                                                  "'-1", "'@SUM(A1)", "'\tTab", "plain"]
    assert escape_formula(-5) == -5  # numbers stay numbers
    rows = [[v, Decimal("-2.50")] for v in nasty]
    sheet = load_workbook(io.BytesIO(write_xlsx(["a", "b"], rows))).active
    cells = [row for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells[0] == ("'=HYPERLINK(\"http://x\")", -2.5)
    assert all(sheet.cell(row=r, column=1).data_type == "s" for r in range(2, 8))
    csv_bytes = write_csv(["a", "b"], rows)
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    assert "'=HYPERLINK" in csv_bytes.decode("utf-8-sig")
    # Reading back removes the apostrophe: an export can be imported as it is.
    assert [r[1][0] for r in read_rows(csv_bytes, "x.csv")[1:]] == [
        v.strip() or None for v in nasty]


def test_template_lists_headers_in_the_chosen_language(app):
    sheet = load_workbook(io.BytesIO(template_xlsx(Fruit().columns, "en", "Fruit")))
    assert [c.value for c in sheet.worksheets[0][1]] == ["Name*", "Price", "Origin"]
    assert sheet.worksheets[0].max_row == 1  # no example row that could be imported by mistake
    notes = [[c.value for c in row] for row in sheet.worksheets[1].iter_rows()]
    assert notes[1][:3] == ["Name", "名称", "yes"] or notes[1][:2] == ["Name", "名称"]
    # The template itself reads back as a header-only file.
    with pytest.raises(TabularError):
        build_preview(Fruit(), template_xlsx(Fruit().columns, "zh_CN", "Fruit"), "t.xlsx")


def test_download_names_may_be_chinese(app):
    with app.test_request_context():
        response = download(b"x", "展商导入模板.xlsx")
    disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''%E5%B1%95" in disposition and 'filename=".xlsx"' in disposition
    assert response.mimetype.endswith("spreadsheetml.sheet")


def test_xlsx_row_numbers_are_the_sheets_own(app):
    wb = Workbook()
    sheet = wb.active
    sheet["B3"], sheet["C3"] = "名称", "价格(元)"
    sheet["B5"], sheet["C5"] = "苹果", 1.5
    buffer = io.BytesIO()
    wb.save(buffer)
    rows = read_rows(buffer.getvalue(), "offset.xlsx")
    assert [n for n, _ in rows] == [3, 5] and rows[1][1] == ["苹果", 1.5]
