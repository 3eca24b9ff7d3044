from typer.testing import CliRunner

from lggseg_cli.main import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "info" in result.output


def test_info_prints_backend(keras_backend):
    result = runner.invoke(app, ["--backend", keras_backend, "info"])
    assert result.exit_code == 0, result.output
    assert f"backend      {keras_backend}" in result.output
