"""Base of every spreadsheet import/export: formula-safe cells, trimmed codes, cached natural keys, all or nothing.

Each app's ``resources.py`` subclasses :class:`SpreadsheetResource` and only names its columns. What the base
adds to django-import-export's ``ModelResource``:

* Files are read by :mod:`core.sheets`, the reader of every import (the admin's import formats in
  :mod:`core.import_formats` build the Dataset with it; a Dataset built elsewhere goes through the same checks
  here): any encoding Excel writes, cells trimmed, the formula escape of :func:`core.spreadsheet.escape_formula`
  undone, over-long cells and forbidden characters refused by row and column. The header may name a column by
  its name, by its model field's verbose name ("Declared name (Chinese)") or by an alias in ``column_aliases``;
  an unknown or repeated column, or a missing key column, refuses the file before any row is imported.
* Exported text cells go through :func:`core.spreadsheet.escape_formula`, so an export imports back unchanged.
* Codes (SKUs, warehouse and bin codes, currencies, countries) are upper-cased; numbers, yes/no and choice
  cells are parsed strictly, so a typo is an error on its cell instead of a silent zero or ``False``.
* Foreign keys are given by natural key (:class:`NaturalKeyWidget`) and existing rows are found by natural key
  (:class:`NaturalKeyInstanceLoader`); both load every key of the file in one query per column before the
  first row, so an import runs no per-row query to resolve them.
* Each row is checked with the model's ``full_clean()`` (field rules and clean(); uniqueness too, unless the
  saving service checks it; CHECK constraints, which repeat field validators, are left to the database). A
  key repeated inside the file is an error on the repeat. A service's or the database's refusal of a row
  becomes that row's validation error, so every bad row is listed together.
* An import with any bad row saves nothing (one transaction, rolled back on any error or validation error,
  whatever the caller asked).

Rows are numbered as in the spreadsheet, the header being row 1 and blank rows skipped but counted: in the
result's invalid and error rows (which the admin shows) and in messages that point at another row.
:meth:`SpreadsheetResource.errors` turns a result into :class:`core.errors.ErrorDetail` items (row, column,
message, code). The admin side is in :mod:`core.admin`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import tablib
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist, ValidationError
from django.db import DatabaseError, models
from django.utils.translation import gettext as _
from import_export import resources, widgets
from import_export.instance_loaders import BaseInstanceLoader
from import_export.results import Error, Result, RowResult

from core.errors import DomainError, ErrorDetail, ValidationFailed, labelled, words_join
from core.import_formats import SheetDataset, dataset_from_sheet
from core.sheets import SheetColumn, SheetLayout, in_every_language, sheet_header_names, sheet_open_table
from core.spreadsheet import escape_formula

# --- Cells ------------------------------------------------------------------------------------------------


def _whole_number_float(value: Any) -> Any:
    # Spreadsheets store 4006381333931 or 392690 typed in a cell as a float; give back what was typed.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class TextWidget(widgets.CharWidget):
    """Text: trimmed; a number typed into a text column comes back as it was typed (``12`` not ``12.0``)."""

    def clean(self, value, row=None, **kwargs):
        value = super().clean(_whole_number_float(value), row, **kwargs)
        return value.strip() if isinstance(value, str) else value


class CodeWidget(TextWidget):
    """Codes compared trimmed and upper-cased: SKUs, warehouse and bin codes, ISO currency and country codes."""

    def clean(self, value, row=None, **kwargs):
        value = super().clean(value, row, **kwargs)
        return value.upper() if isinstance(value, str) else value


class DecimalWidget(widgets.DecimalWidget):
    """A decimal number; text that is not a number is an error on its cell (not a crash of the row)."""

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise ValueError(_("%(value)s is not a number.") % {"value": repr(value)}) from exc


class WholeNumberWidget(widgets.IntegerWidget):
    """A whole number; ``2.5`` is refused instead of being cut to ``2``."""

    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(_("%(value)s is not a whole number.") % {"value": repr(value)}) from exc
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError(_("%(value)s is not a whole number.") % {"value": repr(value)})
        return int(number)


class YesNoWidget(widgets.BooleanWidget):
    """Yes/no cells: 1/0, true/false, yes/no (any case); anything else is an error, never a silent ``False``."""

    TRUE_WORDS = frozenset({"1", "true", "yes", "y"})
    FALSE_WORDS = frozenset({"0", "false", "no", "n"})

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        if isinstance(value, bool):
            return value
        word = str(_whole_number_float(value)).strip().lower()
        if word in self.TRUE_WORDS:
            return True
        if word in self.FALSE_WORDS:
            return False
        raise ValueError(_("%(value)s is not yes or no; use 1/0, true/false or yes/no.") % {"value": repr(value)})


class ChoiceWidget(TextWidget):
    """A choice given by its value or its label, in any case and in any language of the site (a Chinese sheet
    says "海外仓" where an English one says "Overseas warehouse"); exported as the value.

    Widgets are made when resource classes are declared, at import, before translations can be read: the labels
    are kept as they are (lazy) and read, in every language, on the first cell.
    """

    def __init__(self, choices: Iterable[tuple[Any, Any]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.choices = [(str(value), label) for value, label in choices]
        self._value_by_text: dict[str, str] | None = None

    def value_by_text(self) -> dict[str, str]:
        """Each text meaning a choice (its value, its label in every language), lower-cased, → the value."""
        if self._value_by_text is None:
            found: dict[str, str] = {}
            for choice_value, label in self.choices:
                for text in (choice_value, *in_every_language(label)):
                    found.setdefault(str(text).lower(), choice_value)
            self._value_by_text = found
        return self._value_by_text

    def clean(self, value, row=None, **kwargs):
        text = super().clean(value, row, **kwargs)
        if not text:
            return text
        choice_value = self.value_by_text().get(text.lower())
        if choice_value is not None:
            return choice_value
        allowed = words_join(choice_value for choice_value, _label in self.choices)
        raise ValueError(_("%(value)s is not one of: %(choices)s.") % {"value": repr(text), "choices": allowed})


class NaturalKeyWidget(widgets.ForeignKeyWidget):
    """A foreign key given by a natural key (a SKU, a warehouse code, a supplier name).

    During an import, :meth:`prime` loads every key of the file in one query, so rows are resolved from a
    dictionary. Outside an import, a key not seen before is fetched on its own.
    """

    def __init__(self, model: type[models.Model], field: str, *, upper: bool = True, **kwargs) -> None:
        super().__init__(model, field=field, **kwargs)
        self.upper = upper
        self.cache: dict[str, models.Model | None] = {}

    def normalize(self, value: Any) -> str:
        if value is None:
            return ""
        text = str(_whole_number_float(value)).strip()
        return text.upper() if self.upper else text

    def prime(self, values: Iterable[Any]) -> None:
        """Forget what was cached and load the rows of all these keys with one query."""
        keys = {self.normalize(value) for value in values} - {""}
        self.cache = dict.fromkeys(keys)
        if keys:
            for instance in self.get_queryset(None, None).filter(**{f"{self.field}__in": keys}):
                self.cache[getattr(instance, self.field)] = instance

    def clean(self, value, row=None, **kwargs):
        key = self.normalize(value)
        if not key:
            return None
        if key not in self.cache:
            self.cache[key] = self.get_queryset(None, None).filter(**{self.field: key}).first()
        instance = self.cache[key]
        if instance is None:
            meta = self.model._meta
            raise ValueError(
                _("No %(model)s with %(field)s %(key)s.")
                % {"model": meta.verbose_name, "field": meta.get_field(self.field).verbose_name, "key": key}
            )
        return instance

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else getattr(value, self.field)


# --- Rows -------------------------------------------------------------------------------------------------


def sheet_row(row_numbers: list[int], number: int) -> int:
    """The spreadsheet row of the ``number``-th row of a Dataset (django-import-export counts them from 1)."""
    return row_numbers[number - 1] if 0 < number <= len(row_numbers) else number


class SpreadsheetResult(Result):
    """A Result whose rows are numbered as in the spreadsheet (``row_numbers``, one per row of the Dataset)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.row_numbers: list[int] = []

    def row_errors(self):
        numbers = self.row_numbers
        return [(sheet_row(numbers, index), row.errors) for index, row in enumerate(self.rows, 1) if row.errors]


def detail_line(detail: ErrorDetail) -> str:
    """``Row 5, name: Contains U+0000 (NUL) …``: one problem on one line, for a person."""
    if detail.row and detail.field:
        return _("Row %(row)s, %(field)s: %(message)s") % {
            "row": detail.row,
            "field": detail.field,
            "message": detail.message,
        }
    if detail.row:
        return _("Row %(row)s: %(message)s") % {"row": detail.row, "message": detail.message}
    return labelled(detail.field, detail.message)


class SpreadsheetError(Error):
    """An error of an import. For a refusal that lists its problems (a file that cannot be read, a bad header,
    bad cells), every problem stands in place of the traceback, which the admin's import page shows."""

    @property
    def traceback(self) -> str:
        if isinstance(self.error, DomainError):
            return "\n".join(detail_line(detail) for detail in self.error.errors)
        return super().traceback


class NaturalKeyInstanceLoader(BaseInstanceLoader):
    """Finds the existing row of each line by the resource's ``import_id_fields``, all in one query.

    Unlike django-import-export's ``CachedInstanceLoader`` it handles keys of several columns (warehouse code
    + bin code) and foreign keys given by natural key.
    """

    def __init__(self, resource: SpreadsheetResource, dataset: tablib.Dataset | None = None) -> None:
        super().__init__(resource, dataset)
        self.instances: dict[tuple, models.Model] = {}
        keys = [key for key in (resource.natural_key_of_row(row) for row in (dataset.dict if dataset else [])) if key]
        if not keys:
            return
        filters = {}
        for index, field in enumerate(resource.import_id_field_objects()):
            filters[f"{field.attribute}__in"] = {key[index] for key in keys}
        for instance in resource.get_queryset().filter(**filters):
            self.instances[resource.natural_key_of_instance(instance)] = instance

    def get_instance(self, row):
        key = self.resource.natural_key_of_row(row)
        return self.instances.get(key) if key else None


class SpreadsheetResource(resources.ModelResource):
    """The base of Seabridge's import/export resources (see the module docstring)."""

    WIDGETS_MAP = {
        **resources.ModelResource.WIDGETS_MAP,
        "CharField": TextWidget,
        "TextField": TextWidget,
        "DecimalField": DecimalWidget,
        "IntegerField": WholeNumberWidget,
        "PositiveIntegerField": WholeNumberWidget,
        "PositiveSmallIntegerField": WholeNumberWidget,
        "SmallIntegerField": WholeNumberWidget,
        "BigIntegerField": WholeNumberWidget,
        "PositiveBigIntegerField": WholeNumberWidget,
        "BooleanField": YesNoWidget,
    }

    #: Columns holding codes, compared trimmed and upper-cased.
    code_fields: ClassVar[tuple[str, ...]] = ()
    #: Relations the export and the instance loader fetch in the same query.
    select_related: ClassVar[tuple[str, ...]] = ()
    #: Model fields left out of ``full_clean`` (with the constraints that read them) because the save
    #: enforces them itself, e.g. the one-preferred-supplier rule, which the service keeps by unsetting.
    validation_exclusions: ClassVar[tuple[str, ...]] = ()
    #: False where the save goes through a service that checks uniqueness itself, naming the other row
    #: (checking twice costs a query and a compiled expression per row).
    check_unique_constraints: ClassVar[bool] = True
    #: Constraint name → (column, message), for constraints whose own message names no column.
    constraint_messages: ClassVar[dict[str, tuple[str | None, str]]] = {}
    #: Column name → more header texts that mean it, besides its name and its model field's verbose name.
    column_aliases: ClassVar[dict[str, tuple[str, ...]]] = {}
    #: Whether a header cell naming no column is ignored (True) or refuses the file (False: likely a typo).
    ignores_unknown_columns: ClassVar[bool] = False

    class Meta:
        use_transactions = True
        clean_model_instances = True
        # Per-row saves: with use_bulk, django-import-export cannot tie a database error to its row
        # (its documented caveat), and a file here is at most a few thousand rows.
        use_bulk = False
        # The diff feeds the admin's dry-run preview, which people read before confirming.
        skip_diff = False
        instance_loader_class = NaturalKeyInstanceLoader

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.first_row_of_duplicate: dict[int, int] = {}
        self.cross_row_errors: dict[int, dict[str, list[ValidationError]]] = {}
        self.import_user = None
        self.row_numbers: list[int] = []

    def get_result_class(self):
        return SpreadsheetResult

    def get_error_result_class(self):
        return SpreadsheetError

    # --- field set-up

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        field = super().field_from_django_field(field_name, django_field, readonly)
        if field_name in cls.code_fields:
            field.widget = CodeWidget()
        elif getattr(django_field, "choices", None):
            field.widget = ChoiceWidget(django_field.choices)
        return field

    def get_queryset(self):
        return super().get_queryset().select_related(*self.select_related)

    def import_id_field_objects(self) -> list:
        return [self.fields[name] for name in self.get_import_id_fields()]

    def column_of(self, attribute: str) -> str | None:
        """The column a model field is read from (errors are keyed by model field)."""
        if attribute == NON_FIELD_ERRORS:
            return None
        for field in self.fields.values():
            if field.attribute == attribute:
                return field.column_name
        return attribute

    # --- the file

    def sheet_layout(self) -> SheetLayout:
        """The columns this resource imports, for core.sheets: each by its name, its model field's verbose name
        and its ``column_aliases``; the key columns are required."""
        key_columns = {field.column_name for field in self.import_id_field_objects()}
        columns = []
        for field in self.get_import_fields():
            name = field.column_name
            aliases = self.column_aliases.get(name, ())
            try:
                model_field = self._meta.model._meta.get_field(field.attribute) if field.attribute else None
            except FieldDoesNotExist:
                model_field = None
            if model_field is None:
                columns.append(SheetColumn(name=name, aliases=aliases, is_required=name in key_columns))
            else:
                columns.append(
                    SheetColumn.for_field(model_field, name=name, aliases=aliases, is_required=name in key_columns)
                )
        return SheetLayout(columns=tuple(columns), ignores_unknown_columns=self.ignores_unknown_columns)

    def sheet_dataset(self, dataset: tablib.Dataset) -> SheetDataset:
        """``dataset`` with its header resolved to this resource's column names (columns it ignores dropped) and
        the spreadsheet row number of each row; a Dataset not read by core.sheets is checked by it first.

        Raises ValidationFailed for a header the resource refuses, or cells core.sheets refuses.
        """
        if not isinstance(dataset, SheetDataset):
            sheet = sheet_open_table(rows=[dataset.headers or [], *dataset], layout=None)
            dataset = dataset_from_sheet(sheet)
        names = sheet_header_names(header=dataset.headers, layout=self.sheet_layout(), row=dataset.header_row)
        kept = [index for index, name in enumerate(names) if name]
        return SheetDataset(
            *([row[index] for index in kept] for row in dataset),
            headers=[names[index] for index in kept],
            header_row=dataset.header_row,
            row_numbers=dataset.row_numbers,
        )

    def sheet_row(self, number: int) -> int:
        """The spreadsheet row of the ``number``-th row of the Dataset being imported (counted from 1)."""
        return sheet_row(self.row_numbers, number)

    # --- natural keys

    def natural_key_of_row(self, row: dict) -> tuple | None:
        """The row's natural key with foreign keys as primary keys, or None when a part is missing or bad."""
        values = []
        for field in self.import_id_field_objects():
            if field.column_name not in row:
                return None
            try:
                value = field.clean(row)
            except (ValueError, ValidationError, KeyError):
                return None
            if value in (None, ""):
                return None
            values.append(value.pk if isinstance(value, models.Model) else value)
        return tuple(values)

    def natural_key_of_instance(self, instance: models.Model) -> tuple:
        values = []
        for field in self.import_id_field_objects():
            model_field = instance._meta.get_field(field.attribute)
            values.append(getattr(instance, model_field.attname))
        return tuple(values)

    def natural_key_label(self, row: dict) -> str:
        """The key as it is stored (``A-1`` for ``a-1``), for messages."""
        parts = []
        for field in self.import_id_field_objects():
            try:
                parts.append(str(field.widget.render(field.clean(row))))
            except (ValueError, ValidationError, KeyError):
                parts.append(str(row.get(field.column_name, "")))
        return " + ".join(parts)

    # --- import

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ) -> Result:
        try:
            dataset = self.sheet_dataset(dataset)
        except ValidationFailed as error:
            if raise_errors:
                raise
            # Refused before any row: the result holds the refusal alone, as an error of the whole file.
            result = self.get_result_class()()
            result.append_base_error(self.get_error_result_class()(error))
            return result
        self.row_numbers = dataset.row_numbers
        # One file is one change: whatever the caller asks, one bad row rolls every row back.
        result = super().import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=raise_errors,
            use_transactions=True,
            collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=True,
            **kwargs,
        )
        result.row_numbers = self.row_numbers
        for row in (*result.invalid_rows, *result.error_rows):
            row.number = self.sheet_row(row.number)
        return result

    def import_or_raise(self, dataset: tablib.Dataset, *, dry_run: bool = False, **kwargs) -> Result:
        """Import ``dataset``; on any bad row save nothing and raise ValidationFailed listing every one."""
        result = self.import_data(dataset, dry_run=dry_run, **kwargs)
        errors = self.errors(result)
        if errors:
            rows = sorted({error.row for error in errors if error.row is not None})
            raise ValidationFailed(
                _("Nothing was imported: %(bad)s of %(total)s rows have errors.")
                % {"bad": len(rows), "total": result.total_rows},
                errors=errors,
            )
        return result

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        # Who imports: the admin passes its user, and saves that write stock say who made them.
        self.import_user = kwargs.get("user")
        rows = dataset.dict if dataset.headers else []
        for field in self.fields.values():
            if isinstance(field.widget, NaturalKeyWidget):
                field.widget.prime(row.get(field.column_name) for row in rows)
        self.first_row_of_duplicate = {}
        self.cross_row_errors = {}
        first_rows: dict[tuple, int] = {}
        for number, row in enumerate(rows, 1):
            key = self.natural_key_of_row(row)
            if key is None:
                continue
            if key in first_rows:
                self.first_row_of_duplicate[number] = first_rows[key]
            else:
                first_rows[key] = number
        self.check_rows(rows)

    def check_rows(self, rows: list[dict]) -> None:
        """Hook for rules across rows of one file; record problems with :meth:`add_row_error`, by the rows'
        positions (counted from 1), and name other rows in messages by :meth:`sheet_row`."""

    def add_row_error(self, number: int, attribute: str, message: str, code: str = "invalid") -> None:
        self.cross_row_errors.setdefault(number, {}).setdefault(attribute, []).append(
            ValidationError(message, code=code)
        )

    def import_instance(self, instance, row, **kwargs):
        errors: dict[str, list] = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        self.file_errors_add(errors, row=row, number=kwargs.get("row_number"))
        if errors:
            raise ValidationError(errors)

    def file_errors_add(self, errors: dict[str, list], *, row: dict, number: int | None) -> None:
        """Add the row's problems across the file (a repeated key, :meth:`check_rows`) to ``errors``."""
        if number in self.first_row_of_duplicate:
            attribute, error = self.duplicate_error(row, first_row=self.sheet_row(self.first_row_of_duplicate[number]))
            errors.setdefault(attribute, []).append(error)
        for attribute, found in self.cross_row_errors.get(number, {}).items():
            errors.setdefault(attribute, []).extend(found)

    def duplicate_error(self, row: dict, *, first_row: int) -> tuple[str, ValidationError]:
        """(attribute, error) for a row whose key is on an earlier row too; resources with a rule of their own
        for it (products, bundle lines) say it in its words."""
        last_key_field = self.import_id_field_objects()[-1]
        return last_key_field.attribute, ValidationError(
            _("%(key)s appears more than once in the file (first at row %(row)s).")
            % {"key": self.natural_key_label(row), "row": first_row},
            code="duplicate",
        )

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        exclude = set(errors) | set(self.validation_exclusions)
        # The model's full_clean gives the field rules. Its CHECK constraints are left to the database: each
        # costs a round trip per row and repeats a field validator, and a violation still fails only its row
        # (see import_row). Unique constraints are checked here, as they say which row a value clashes with.
        try:
            instance.full_clean(
                exclude=exclude,
                validate_unique=validate_unique and self.check_unique_constraints,
                validate_constraints=False,
            )
        except ValidationError as error:
            errors = error.update_error_dict(errors)
        exclude |= {name for name in errors if name != NON_FIELD_ERRORS}
        if self.check_unique_constraints:
            try:
                self.validate_unique_constraints(instance, exclude)
            except ValidationError as error:
                errors = self.reword_constraint_errors(error).update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def validate_unique_constraints(self, instance: models.Model, exclude: set[str]) -> None:
        """Django's Model.validate_constraints, for the model's UniqueConstraints only."""
        errors: dict[str, list[ValidationError]] = {}
        for model_class, constraints in instance.get_constraints():
            for constraint in constraints:
                if not isinstance(constraint, models.UniqueConstraint):
                    continue
                try:
                    constraint.validate(model_class, instance, exclude=exclude)
                except ValidationError as error:
                    if getattr(error, "code", None) == "unique" and len(constraint.fields) == 1:
                        errors.setdefault(constraint.fields[0], []).append(error)
                    else:
                        errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def reword_constraint_errors(self, error: ValidationError) -> ValidationError:
        """Move "Constraint … is violated" messages to the column they are about, in words people use."""
        if not self.constraint_messages or not hasattr(error, "error_dict"):
            return error
        reworded: dict[str, list[ValidationError]] = {}
        for attribute, found in error.error_dict.items():
            for item in found:
                target, message = attribute, item
                if attribute == NON_FIELD_ERRORS:
                    text = " ".join(item.messages)
                    for name, (column, words) in self.constraint_messages.items():
                        if f"“{name}”" in text:
                            target = column or NON_FIELD_ERRORS
                            message = ValidationError(words, code=name)
                            break
                reworded.setdefault(target, []).append(message)
        return ValidationError(reworded)

    def import_row(self, row, instance_loader, **kwargs):
        row_result = super().import_row(row, instance_loader, **kwargs)
        # A database or service refusal of one row is still a problem of that row: report it with the
        # validation errors, so the admin lists every bad row at once (it shows either kind, not both).
        if row_result.errors and all(isinstance(item.error, DatabaseError | DomainError) for item in row_result.errors):
            messages: dict[str, list[ValidationError]] = {}
            for item in row_result.errors:
                for attribute, error in self.database_error_fields(item.error):
                    messages.setdefault(attribute, []).append(error)
            row_result.errors = []
            row_result.validation_error = ValidationError(messages)
            row_result.import_type = RowResult.IMPORT_TYPE_INVALID
        return row_result

    def database_error_fields(self, error: Exception) -> list[tuple[str, ValidationError]]:
        """A service's or the database's refusal of a row, as (column attribute, error) pairs."""
        if isinstance(error, DomainError):
            if error.errors:
                return [
                    (detail.field or NON_FIELD_ERRORS, ValidationError(detail.message, code=detail.code))
                    for detail in error.errors
                ]
            return [(NON_FIELD_ERRORS, ValidationError(error.message, code=error.code))]
        constraint = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None)
        if constraint in self.constraint_messages:
            column, words = self.constraint_messages[constraint]
            return [(column or NON_FIELD_ERRORS, ValidationError(words, code=constraint))]
        text = str(error).strip()
        first_line = text.splitlines()[0] if text else type(error).__name__
        message = labelled(_("The database refused this row"), first_line)
        return [(NON_FIELD_ERRORS, ValidationError(message, code="database"))]

    def after_import(self, dataset, result, **kwargs):
        # ModelResource resets the id sequence here, for imports that carry ids. Ours never do, and
        # setval() to max(id) can hand out ids that other open transactions already hold.
        pass

    def errors(self, result: Result) -> list[ErrorDetail]:
        """Every problem of an import: spreadsheet row (the header is row 1), column, message and code."""
        found: list[ErrorDetail] = []
        for error in result.base_errors:
            if isinstance(error.error, DomainError) and error.error.errors:
                found.extend(error.error.errors)
            else:
                found.append(ErrorDetail(message=str(error.error), code="import_error"))
        for error_row in result.error_rows:
            found.extend(
                ErrorDetail(message=str(error.error), code="import_error", row=error_row.number)
                for error in error_row.errors
            )
        for invalid_row in result.invalid_rows:
            error = invalid_row.error
            items = error.error_dict.items() if hasattr(error, "error_dict") else [(NON_FIELD_ERRORS, [error])]
            for attribute, errors in items:
                for item in errors:
                    for message in item.messages:
                        found.append(
                            ErrorDetail(
                                message=message,
                                code=getattr(item, "code", None) or "invalid",
                                field=self.column_of(attribute),
                                row=invalid_row.number,
                            )
                        )
        return found

    # --- export

    def filter_export(self, queryset, **kwargs):
        return super().filter_export(queryset, **kwargs).select_related(*self.select_related)

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, widgets.NumberWidget):
            return value
        return escape_formula(value)
