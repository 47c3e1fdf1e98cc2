"""The OpenAPI schema of /api/docs/ is generated without warnings (a warning there means a wrong schema,
e.g. two apps' serializers with one component name)."""

from django.core.management import call_command


def test_schema_generates_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))
    schema = (tmp_path / "schema.yml").read_text()
    for path in ("/api/v1/redemptions", "/api/v1/referrals", "/api/v1/customers/{source_id}/loyalty"):
        assert path in schema
