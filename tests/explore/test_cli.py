"""``layerwise explore`` on the command line: bad options are one line and exit status 2 (no server left behind)."""

import socket

from layerwise.cli import main


def test_explore_refuses_a_port_out_of_range(capsys):
    assert main(["explore", "--port", "0", "--no-browser"]) == 2
    assert capsys.readouterr().err == "error: port must be from 1 to 65535, got 0\n"


def test_explore_refuses_a_port_in_use(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["explore", "--port", str(port), "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: port {port} cannot be used") and err.count("\n") == 1
