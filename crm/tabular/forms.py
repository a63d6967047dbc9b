"""The two forms of an import page and the two steps a view takes with them."""
from __future__ import annotations

from flask import abort, flash, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

from crm.exceptions import ServiceError
from crm.extensions import db
from crm.tabular.importing import ImportSpec, Preview, commit_upload, preview_upload
from crm.tabular.reader import TabularError


class UploadForm(FlaskForm):
    file = FileField(_l("XLSX or CSV file"), validators=[FileRequired()])


class ConfirmImportForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


def upload_step(spec: ImportSpec, user) -> tuple[UploadForm, Preview | None,
                                                 ConfirmImportForm | None, int]:
    """The upload request of an import page: a valid file is previewed (nothing written) and
    kept for the confirm form. Returns the upload form (with the file's error, if refused),
    the preview, the confirm form (None when no row can be imported) and the HTTP status."""
    form, preview, confirm, status = UploadForm(), None, None, 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            preview, token = preview_upload(spec, user.id, upload.filename or "upload",
                                            upload.read())
        except TabularError as exc:
            form.file.errors = [exc.message]
            status = 422
        else:
            confirm = ConfirmImportForm(token=token) if token else None
    elif request.method == "POST":
        status = 422
    return form, preview, confirm, status


def commit_step(spec: ImportSpec, user) -> tuple[Preview, dict[str, int]] | None:
    """The confirm request: import the previewed file. An expired or foreign upload is flashed
    and gives None, for the view to send the user back to the upload page."""
    form = ConfirmImportForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        return commit_upload(spec, form.token.data, user)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return None
