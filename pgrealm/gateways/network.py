"""The stack's kernel network as the other layers name it: which namespace a host runs
in, and where the machine reaches it (engines/netns draws the picture)."""

from __future__ import annotations

from pgrealm.config import Settings
from pgrealm.engines.netns import StackNet
from pgrealm.model.addresses import HostBlock

__all__ = ["host_namespace", "stack_net"]


def stack_net(settings: Settings) -> StackNet:
    block = HostBlock(settings.host_block)
    return StackNet.for_block(str(settings.host_block), block.gateway, block.router)


def host_namespace(settings: Settings, host_ip: str) -> str:
    """The namespace of the host whose machine-side address is ``host_ip``."""
    return stack_net(settings).host_namespace(host_ip)
