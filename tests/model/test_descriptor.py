"""model.descriptor's keys: which primaryKey and foreign keys can be checked, what is said of
the others, and the schema every engine checks without them. Small schemas written here, in
process: no package is read."""

from __future__ import annotations

import pytest

from bazhong_accounts.model.descriptor import key_problems, with_usable_keys


def schema(*fields: str, pk=None, fks=()) -> dict:
    out = {"fields": [{"name": f, "type": "string"} for f in fields], "foreignKeys": list(fks)}
    if pk is not None:
        out["primaryKey"] = pk
    return out


def fk(fields, resource, rfields) -> dict:
    return {"fields": fields, "reference": {"resource": resource, "fields": rfields}}


NOT_NAMES = ("a foreign key's `fields` and `reference.fields` must each be a field name or a list of field "
             "names: that foreign key is not checked")
UNITS = schema("year", "unit", "name", pk=["year", "unit"])
GOOD = fk(["year", "unit"], "units", ["year", "unit"])
SELF = fk("parent", "", "unit")  # "" is the schema's own resource


@pytest.mark.parametrize("broken, said", [
    (fk("unit", "unitz", "unit"),
     ("unit", "a foreign key refers to `unitz`, not a resource of datapackage.json: that foreign key is not checked")),
    (fk(["year", "unit"], "units", ["year", "unit_no"]),
     ("unit", "a foreign key refers to `unit_no` of `units`, not a field of its schema: "
              "that foreign key is not checked")),
    (fk("unit", "", "unit_no"),  # its own schema, referred to by ""
     ("unit", "a foreign key refers to `unit_no` of `projects`, not a field of its schema: "
              "that foreign key is not checked")),
    (fk(["year", "unit"], "units", "unit"),
     ("unit", "a foreign key names 2 fields and its reference 1 field: that foreign key is not checked")),
    ({"fields": "unit"},
     ("unit", "a foreign key needs `fields` and `reference.fields`: that foreign key is not checked")),
    ({"fields": "unit", "reference": {"resource": "units"}},
     ("unit", "a foreign key needs `fields` and `reference.fields`: that foreign key is not checked")),
    ({"reference": {"resource": "units", "fields": "unit"}},
     (None, "a foreign key needs `fields` and `reference.fields`: that foreign key is not checked")),
    (fk("unit_id", "units", "unit"),
     ("unit_id", "a foreign key names `unit_id`, not a field of the schema: that foreign key is not checked")),
    (fk(42, "units", "unit"), (None, NOT_NAMES)),  # fields neither a name nor a list of names
    (fk("unit", "units", ["unit", 7]), (None, NOT_NAMES)),
    ("unit", (None, NOT_NAMES)),  # a foreign key that is not an object
])
def test_a_foreign_key_that_cannot_be_checked_is_said_and_left_out(broken, said):
    projects = schema("year", "unit", "parent", pk=["year", "unit"], fks=[GOOD, broken, SELF])
    schemas = {"units": UNITS, "projects": projects}
    assert key_problems(projects, "projects", schemas) == [said]
    kept = with_usable_keys(projects, "projects", schemas)
    assert kept["foreignKeys"] == [GOOD, SELF]
    assert kept["primaryKey"] == ["year", "unit"] and kept["fields"] == projects["fields"]
    assert len(projects["foreignKeys"]) == 3  # the schema read is left as it was


def test_each_missing_reference_field_is_said():
    projects = schema("year", "unit", fks=[fk(["year", "unit"], "units", ["yr", "unit_no"])])
    assert [field for field, _ in key_problems(projects, "projects", {"units": UNITS, "projects": projects})] \
        == ["year", "unit"]


def test_a_foreign_key_to_a_schema_that_cannot_be_read_is_left_out_without_a_word():
    """The unreadable schema says so itself (checks.package): a second problem would repeat it."""
    projects = schema("year", "unit", "parent", fks=[GOOD, SELF])
    schemas = {"units": None, "projects": projects}
    assert key_problems(projects, "projects", schemas) == []
    assert with_usable_keys(projects, "projects", schemas)["foreignKeys"] == [SELF]


def test_a_primary_key_naming_a_field_the_schema_lacks_is_left_out():
    units = schema("year", "name", pk=["year", "unit"], fks=[SELF])
    assert key_problems(units, "units", {"units": units}) == [
        ("unit", "primaryKey names `unit`, not a field of the schema: the key checks of this resource are skipped"),
        ("parent", "a foreign key names `parent`, not a field of the schema: that foreign key is not checked")]
    kept = with_usable_keys(units, "units", {"units": units})
    assert "primaryKey" not in kept and kept["foreignKeys"] == []


def test_usable_keys_are_kept_as_they_are():
    projects = schema("year", "unit", "parent", pk=["year", "unit"], fks=[GOOD, SELF])
    schemas = {"units": UNITS, "projects": projects}
    assert key_problems(projects, "projects", schemas) == []
    assert with_usable_keys(projects, "projects", schemas) == projects


@pytest.mark.parametrize("pk", [42, ["year", 7], {"fields": "year"}])
def test_a_primary_key_that_is_not_field_names_is_said_and_left_out(pk):
    units = schema("year", "unit", pk=pk)
    assert key_problems(units, "units", {"units": units}) == [
        (None, "primaryKey must be a field name or a list of field names: the key checks of this resource are skipped")]
    assert "primaryKey" not in with_usable_keys(units, "units", {"units": units})
