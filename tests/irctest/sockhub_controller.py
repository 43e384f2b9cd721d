"""irctest controller for sockhub's IRC listener.

irctest (github.com/progval/irctest) starts a fresh server per test through a controller: this
one writes a sockhub configuration with the port, server name and password the test chooses,
runs `sockhub serve` on it, and creates accounts with `sockhub user add` (SASL PLAIN logs in to
sockhub accounts; there are no services). Run from an irctest checkout:

    PYTHONPATH=/path/to/sockhub/tests/irctest SOCKHUB_BIN=/path/to/sockhub \
        pytest --controller sockhub_controller -k 'not Ergo and not deprecated' irctest/server_tests/

See docs/protocol.md ("Chat over IRC") for what applies and what is out of scope.
"""

import os
import shutil
import subprocess
from typing import Optional, Set, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from sockhub_config import CONFIG



class SockhubController(BaseServerController, DirectoryBasedController):
    software_name = "sockhub"
    supported_sasl_mechanisms: Set[str] = {"PLAIN"}
    supports_sts = False

    def binary(self) -> str:
        return os.environ.get("SOCKHUB_BIN") or shutil.which("sockhub") or "sockhub"

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str],
        websocket_port: Optional[int],
    ) -> None:
        if ssl:
            raise NotImplementedByController("TLS")
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        self.create_config()
        assert self.directory
        self.port = port
        self.hostname = hostname
        self.config_path = self.directory / "sockhub.toml"
        with self.open_file("sockhub.toml", "w") as fd:
            fd.write(
                CONFIG.format(
                    data_dir=self.directory / "data",
                    port=port,
                    password=f'password = "{password}"' if password else "",
                )
            )
        self.proc = self.execute([self.binary(), "serve", "--config", str(self.config_path)])
        self.wait_for_port()

    def wait_for_services(self) -> None:
        # Accounts are sockhub's own: there is no services process to wait for.
        pass

    def registerUser(self, case, username: str, password: Optional[str] = None) -> None:  # type: ignore
        if not password:
            raise NotImplementedByController("account registration without a password")
        subprocess.run(
            [self.binary(), "user", "add", username, "--config", str(self.config_path)],
            input=f"{password}\n{password}\n".encode(),
            check=True,
            capture_output=True,
        )


def get_irctest_controller_class() -> Type[SockhubController]:
    return SockhubController
