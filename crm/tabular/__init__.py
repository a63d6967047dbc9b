"""Tabular import and export shared by every feature (XLSX and CSV).

How to define a new import (the expo's exhibitor import in crm/expo/importing.py is a full
example):

1. Subclass `ImportSpec` (crm/tabular/importing.py) and give it
   - `name`: a stable string ("leads_projects"); a pending upload is tied to it;
   - `columns`: a list of `Column(key, label_zh, label_en, parse=..., required=..., aliases=...,
     example=..., note=_l("hint"))`. Headers are matched in either language, ignoring width,
     case, spaces and the '*' of required columns. Parsers in crm/tabular/columns.py: `text`,
     `choice({"线上": "online", "online": "online"})` (`both_languages(LABELS)` accepts codes
     and labels in either language), `decimal()` (exact, ≥ 0), `date_value`, `email`,
     `country` (ISO code or name in zh/en); a parser raises ValueError(message);
   - `scope` (optional): what the import targets, e.g. the edition's id as a string;
   - `natural_key(values)`: what identifies the record a row describes (a credit code, a
     normalised name…). Two rows with one key in a file are an error; `apply` uses the key to
     update the existing record on re-import, so importing a file twice creates nothing new;
   - `check_rows(rows)`: batch look-ups (load what the keys match with a fixed number of
     queries, never one per row: `chunks(keys)` splits long IN lists; organisations are found
     with crm.organizations.services.organization_keys / known_organizations) and business
     rules: `row.error(column_key, reason)`,
     `row.note = "what will happen"`, `row.context[...] = what apply needs`;
   - `apply(rows)`: write the valid rows (no commit) and return counts {"created": n, ...}.
     Thousands of new records go in with crm.audit.history.create_many (bulk INSERT with
     their history) rather than one ORM object each.
2. In the views (crm/tabular/forms.py): the page's view calls `upload_step(spec, user)`, which
   validates the `UploadForm` and runs `preview_upload(spec, user.id, filename, data)`: the
   `Preview` (per-row errors with row number, column and reason; nothing written), kept under
   a token for the `ConfirmImportForm`; a `TabularError` (size, row count, zip bomb, damaged or
   unreadable file, missing columns) refuses the file with `exc.message` (422). The template
   renders it all with `templates/tabular/macros.html: import_page(...)`, the instructions in
   its call block. The confirm view calls `commit_step(spec, user)`: `commit_upload` re-checks
   the file and imports the valid rows in one transaction (history actor: "import").
3. Downloads: `template_xlsx(spec.columns, lang, title)` for the blank template, and
   `export(headers, rows, "xlsx"|"csv", basename)` for lists (formula characters escaped).

Limits (app config, defaults in crm/tabular/reader.py): TABULAR_MAX_BYTES (10 MB),
TABULAR_MAX_ROWS (20,000), TABULAR_MAX_UNZIPPED_BYTES (150 MB), TABULAR_MAX_ZIP_RATIO (150).
"""
from crm.tabular.columns import (
    Column,
    both_languages,
    choice,
    country,
    date_value,
    decimal,
    email,
    text,
)
from crm.tabular.export import escape_formula, export, template_xlsx, write_csv, write_xlsx
from crm.tabular.importing import (
    ImportSpec,
    Preview,
    RowResult,
    build_preview,
    chunks,
    commit_upload,
    preview_upload,
)
from crm.tabular.reader import TabularError, read_rows

__all__ = [
    "Column", "both_languages", "choice", "country", "date_value", "decimal", "email", "text",
    "escape_formula", "export", "template_xlsx", "write_csv", "write_xlsx", "ImportSpec",
    "Preview", "RowResult", "build_preview", "chunks", "commit_upload", "preview_upload",
    "TabularError", "read_rows",
]
