"""irctest controller for the irctest release on PyPI (0.1.2), whose controller API is older
than the current irctest's (see sockhub_controller.py for that one).

CI can reach PyPI but not irctest's repository, so tests/irctest/run-ci runs the release's test
suite against sockhub with this controller: a fresh `sockhub serve` per test, on the port the
test chose, with the connection password it asks for; accounts are made with
`sockhub user add`.
"""

import os
import shutil
import socket
import subprocess
import time

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from sockhub_config import CONFIG


class SockhubController(BaseServerController, DirectoryBasedController):
    software_name = "sockhub"
    supported_sasl_mechanisms = {"PLAIN"}
    supported_capabilities = set()

    def binary(self):
        return os.environ.get("SOCKHUB_BIN") or shutil.which("sockhub") or "sockhub"

    def run(
        self,
        hostname,
        port,
        password=None,
        ssl=False,
        restricted_metadata_keys=None,
        valid_metadata_keys=None,
        invalid_metadata_keys=None,
    ):
        if ssl:
            raise NotImplementedByController("TLS")
        if valid_metadata_keys or invalid_metadata_keys:
            raise NotImplementedByController("METADATA")
        assert self.proc is None
        self.port = port
        self.create_config()
        self.config_path = os.path.join(self.directory, "sockhub.toml")
        with self.open_file("sockhub.toml", "w") as fd:
            fd.write(
                CONFIG.format(
                    data_dir=os.path.join(self.directory, "data"),
                    port=port,
                    password=f'password = "{password}"' if password else "",
                )
            )
        self.proc = subprocess.Popen(
            [self.binary(), "serve", "--config", self.config_path],
            stdout=subprocess.DEVNULL,
        )
        # Accounts are made right after this returns: the server must have its database first.
        self.wait_for_port()

    def wait_for_port(self):
        """Wait until the server listens; fail at once if it exited, and after 30 s."""
        deadline = time.monotonic() + 30
        while not self.port_open:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sockhub serve exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sockhub serve does not listen on port {self.port}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                self.port_open = True
            except OSError:
                time.sleep(0.05)

    def kill_proc(self):
        super().kill_proc()
        self.port_open = False

    def registerUser(self, case, username, password=None):
        if not password:
            raise NotImplementedByController("account registration without a password")
        subprocess.run(
            [self.binary(), "user", "add", username, "--config", self.config_path],
            input=f"{password}\n{password}\n".encode(),
            check=True,
            capture_output=True,
        )


def get_irctest_controller_class():
    return SockhubController
