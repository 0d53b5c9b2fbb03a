import pytest

from tests.conftest import manage

pytestmark = pytest.mark.backend_independent


def test_models_and_migrations_agree(tmp_path):
    result = manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true", "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_spatial_index_works_after_migrating_an_embedded_database(tmp_path):
    """SQLite rebuilds a table to add most columns, and SpatiaLite then switches the spatial index off;
    migrate must leave every geometry column indexed, or index-assisted queries find nothing."""
    import sqlite3

    env = {"DEBUG": "true", "DATA_DIR": str(tmp_path), "DATABASE_URL": f"spatialite:///{tmp_path}/db.sqlite3"}
    assert manage("migrate", "-v0", env=env).returncode == 0
    connection = sqlite3.connect(tmp_path / "db.sqlite3")
    connection.enable_load_extension(True)
    connection.load_extension("mod_spatialite")

    columns = connection.execute(
        "SELECT f_table_name, f_geometry_column, spatial_index_enabled FROM geometry_columns"
    ).fetchall()

    assert ("reports_report", "location", 1) in columns
    assert [c for c in columns if c[2] != 1] == []
