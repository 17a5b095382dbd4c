"""The stack's kernel network as the other layers name it: which namespace a host runs
in, and where the machine reaches it (engines/netns draws the picture)."""

from __future__ import annotations

import ipaddress

from pgrealm.config import Settings
from pgrealm.engines.netns import StackNet
from pgrealm.model.addresses import HostBlock

__all__ = ["host_namespace", "stack_for_block", "stack_net"]


def stack_for_block(block: str) -> StackNet:
    """The names and link addresses of the stack whose host block is ``block``."""
    host_block = HostBlock(ipaddress.IPv4Network(block))
    return StackNet.for_block(block, host_block.gateway, host_block.router)


def stack_net(settings: Settings) -> StackNet:
    return stack_for_block(str(settings.host_block))


def host_namespace(settings: Settings, host_ip: str) -> str:
    """The namespace of the host whose machine-side address is ``host_ip``."""
    return stack_net(settings).host_namespace(host_ip)
