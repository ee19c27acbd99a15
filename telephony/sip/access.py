"""Which addresses may call: an allow-list of trunk addresses or networks (empty: anyone).

Sans-IO; the endpoint answers 403 to an INVITE from anywhere else.
"""

from __future__ import annotations

import ipaddress


class AllowList:
    def __init__(self, entries: list[str]) -> None:
        self._networks = [ipaddress.ip_network(entry, strict=False) for entry in entries]

    def allows(self, host: str) -> bool:
        if not self._networks:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._networks)
