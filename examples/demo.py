"""``make demo``: start the embedded simulator, then talk to it through the SDK."""

from __future__ import annotations

import sys

from capitalcom_sdk import Client
from capitalcom_sim.config import SimConfig
from capitalcom_sim.server import SimServer


def main() -> int:
    with SimServer(SimConfig()) as server:
        user = server.config.users[0]
        print(f"simulator listening on {server.base_url}")
        with Client(user.api_key, user.identifier, user.password, base_url=server.base_url) as c:
            server_time = c.general.server_time()
            print(f"server time: {server_time.datetime.isoformat()} ({server_time.server_time} ms)")
            login = c.session.login()
            print(f"logged in: client {login.client_id}, account {login.current_account_id}")
            print(f"ping: {c.general.ping().status}")
    print("simulator stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
