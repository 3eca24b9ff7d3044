"""Console output off a terminal: one message, one line, whatever its length."""

from lggseg.progress import stderr_console


def test_long_messages_are_not_wrapped_in_a_log(capsys):
    path = "/data/" + "/".join(f"folder{i:02d}" for i in range(20)) + "/W30-1-1-C.01.jpg"
    message = f"stain normaliser: macenko, reference {path}"
    assert len(message) > 200
    stderr_console().print(message, highlight=False)
    assert capsys.readouterr().err == message + "\n"
