from tests.conftest import manage


def test_models_and_migrations_agree(tmp_path):
    result = manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true", "DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
