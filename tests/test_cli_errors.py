"""cli_errors: expected failures become one red ``error:`` line and an exit code; bugs still raise."""

from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from lggseg_cli.errors import cli_errors

runner = CliRunner()


class Diverged(RuntimeError):
    pass


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.command()
    @cli_errors()
    def check(
        what: Annotated[str, typer.Argument(help="what to raise")],
        count: Annotated[int, typer.Option("--count", help="an option, to see the signature survive")] = 1,
    ) -> None:
        """Raise what the argument names."""
        if what == "value":
            raise ValueError(f"bad value {count}; valid: 1, 2")
        if what == "missing":
            raise FileNotFoundError("no such file: x.gin")
        if what == "bug":
            raise KeyError("a bug")
        if what == "usage":
            raise typer.BadParameter("not like that", param_hint="--count")
        typer.echo(f"ok {count}")

    @app.command()
    def train(what: str) -> None:
        with cli_errors(exit_codes={Diverged: 3}, interrupt_hint="resume with --run-dir runs/x"):
            if what == "diverged":
                raise Diverged("the loss became NaN in phase 2")
            if what == "interrupt":
                raise KeyboardInterrupt
            raise ValueError("bad binding")

    return app


def test_a_decorated_command_keeps_its_parameters_and_help():
    result = runner.invoke(_app(), ["check", "fine", "--count", "3"])
    assert result.exit_code == 0 and result.output.strip() == "ok 3"
    help_text = runner.invoke(_app(), ["check", "--help"]).output
    assert "Raise what the argument names." in help_text and "--count" in help_text


@pytest.mark.parametrize(
    ("what", "line"),
    [("value", "error: bad value 2; valid: 1, 2"), ("missing", "error: no such file: x.gin")],
)
def test_value_and_file_errors_exit_2_with_one_line(what, line):
    result = runner.invoke(_app(), ["check", what, "--count", "2"])
    assert result.exit_code == 2
    assert result.output.strip() == line
    assert "Traceback" not in result.output


def test_usage_errors_keep_typer_s_report_and_bugs_still_raise():
    usage = runner.invoke(_app(), ["check", "usage"])
    assert usage.exit_code == 2 and "Invalid value for --count: not like that" in usage.output
    bug = runner.invoke(_app(), ["check", "bug"])
    assert bug.exit_code == 1 and isinstance(bug.exception, KeyError)


def test_extra_exit_codes_and_the_interrupt_hint():
    diverged = runner.invoke(_app(), ["train", "diverged"])
    assert diverged.exit_code == 3 and diverged.output.strip() == "error: the loss became NaN in phase 2"
    interrupted = runner.invoke(_app(), ["train", "interrupt"])
    assert interrupted.exit_code == 130
    assert interrupted.output.strip() == "interrupted; resume with --run-dir runs/x"
    assert runner.invoke(_app(), ["train", "other"]).exit_code == 2


def test_without_a_hint_an_interrupt_propagates():
    with pytest.raises(KeyboardInterrupt):
        with cli_errors():
            raise KeyboardInterrupt


def test_exit_codes_must_map_exception_types():
    with pytest.raises(ValueError, match="exit_codes must map exception types to int exit codes"):
        with cli_errors(exit_codes={"Diverged": 3}):
            pass
