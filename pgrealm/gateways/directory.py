"""A directory's live AD: where its DCs run, and its users, groups, memberships and
passwords, for the services on the request path and for the reconcilers.

A thin gateway over :mod:`pgrealm.engines.samba` that picks a live DC and turns engine
errors into the plain exceptions below, so services never import the engine. Objects are
the engine's dicts (see ``samba.directory``). Services depend on :class:`DirectoryGateway`
(a unit test passes a fake); the server wires in :class:`DirectoryData`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from pgrealm.config import Settings
from pgrealm.engines import samba
from pgrealm.engines.samba import directory as samba_directory
from pgrealm.gateways.network import host_namespace
from pgrealm.model.directory import PROCESS_MODELS
from pgrealm.model.layout import directory_home
from pgrealm.model.settings import tls_priority
from pgrealm.model.trusts import dns_forwarders, runs_trusts
from pgrealm.store import Doc

__all__ = [
    "DirectoryData",
    "DirectoryGateway",
    "Exists",
    "NotFound",
    "PasswordRejected",
    "Refused",
    "dc_spec",
    "live_dc_spec",
]

log = logging.getLogger(__name__)


def dc_spec(settings: Settings, doc: Doc, dc: Doc) -> samba.DcSpec:
    aws = doc["aws"]
    domain = samba.DomainSpec(
        dns_name=aws["Name"], netbios=aws["ShortName"], simple=aws.get("Type") == "SimpleAD"
    )
    return samba.DcSpec(
        domain=domain,
        hostname=dc["hostname"],
        address=dc["vpc_ip"],
        home=directory_home(settings, doc) / dc["name"],
        process_model=PROCESS_MODELS.get(aws.get("Edition") or aws.get("Size", ""), "single"),
        netns=host_namespace(settings, dc["address"]),
        reach=dc["address"],
        trusts=runs_trusts(doc),
        dns_forwarders=dns_forwarders(doc),
        tls_priority=tls_priority(doc),
        tls_ca=doc.get("authority", {}).get("certificate"),
        auth_audit=bool(doc.get("log_subscription")),
    )


def live_dc_spec(settings: Settings, doc: Doc) -> samba.DcSpec:
    """The first of the directory's DCs whose samba process is up (dc1 if none is)."""
    specs = [dc_spec(settings, doc, dc) for dc in doc["dcs"]]
    return next((s for s in specs if samba.dc_alive(s)), specs[0])


class NotFound(Exception):
    """No such user, group or member."""


class Exists(Exception):
    """An object of that name exists, or the value/membership is there already."""


class Refused(Exception):
    """The directory refused the change (unknown attribute, bad value, policy)."""


class PasswordRejected(Exception):
    """The directory's password policy refused a password."""


class DirectoryGateway(Protocol):
    """What services ask of a directory's live AD; ``doc`` is the directory's record."""

    def reset_password(self, doc: Doc, user: str, password: str) -> None: ...
    def home_ou(self, doc: Doc) -> str: ...
    def describe(
        self, doc: Doc, kind: str, name: str, attributes: list[str] | None = None
    ) -> Doc: ...
    def find_all(
        self, doc: Doc, kind: str, search: str | None = None, attributes: list[str] | None = None
    ) -> list[Doc]: ...
    def create_user(
        self,
        doc: Doc,
        name: str,
        *,
        given_name: str | None,
        surname: str | None,
        email: str | None,
        attributes: Mapping[str, list[str] | str],
    ) -> Doc: ...
    def create_group(
        self,
        doc: Doc,
        name: str,
        scope: str | None,
        group_type: str | None,
        attributes: Mapping[str, Any],
    ) -> Doc: ...
    def update(
        self,
        doc: Doc,
        kind: str,
        name: str,
        update_type: str,
        attributes: Mapping[str, Any],
        group_scope: str | None = None,
        group_type: str | None = None,
    ) -> None: ...
    def delete(self, doc: Doc, kind: str, name: str) -> None: ...
    def set_enabled(self, doc: Doc, name: str, enabled: bool) -> None: ...
    def set_member(self, doc: Doc, group: str, member: str, add: bool) -> bool: ...
    def members(self, doc: Doc, group: str) -> list[Doc]: ...
    def groups_for(self, doc: Doc, member: str) -> list[Doc]: ...


class DirectoryData:
    """The engine-backed :class:`DirectoryGateway`, on the directory's live DC.

    Calls stay on the DC the last one went to while it is alive, for a while: after a DC
    comes back from a crash, "create a user, then set its password" must not reach the
    other DC before replication has carried the user there (read-your-writes).
    """

    def __init__(self, settings: Settings, stay_for: float = 120.0) -> None:
        self.settings = settings
        self.stay_for = stay_for
        self._last: dict[str, tuple[str, float]] = {}  # directory id -> (DC home, when)
        self._lock = threading.Lock()

    def dc(self, doc: Doc) -> samba.DcSpec:
        """The DC of the last call if it is alive and recent; else dc1, or dc2 while dc1
        is down (writes replicate to the other either way)."""
        directory_id = str(doc["aws"]["DirectoryId"])
        specs = [dc_spec(self.settings, doc, dc) for dc in doc["dcs"]]
        now = time.monotonic()
        with self._lock:
            home, when = self._last.get(directory_id, ("", 0.0))
            sticky = [s for s in specs if str(s.home) == home and now - when < self.stay_for]
            chosen = next((s for s in sticky if samba.dc_alive(s)), None)
            if chosen is None:
                chosen = next((s for s in specs if samba.dc_alive(s)), specs[0])
            self._last[directory_id] = (str(chosen.home), now)
        return chosen

    def reset_password(self, doc: Doc, user: str, password: str) -> None:
        """Set ``user``'s password and enable the account (ResetUserPassword does both)."""
        dc = self.dc(doc)
        try:
            samba.set_password(dc, user, password)
            samba.set_enabled(dc, user, True)
        except samba.NoSuchObjectError as exc:
            raise NotFound(user) from exc
        except samba.PasswordPolicyError as exc:
            raise PasswordRejected(str(exc)) from exc

    def home_ou(self, doc: Doc) -> str:
        """OU=<NETBIOS>,... (Simple AD: CN=Users,...): where customers' users live."""
        return self.dc(doc).domain.home_ou_dn

    def describe(self, doc: Doc, kind: str, name: str, attributes: list[str] | None = None) -> Doc:
        return _mapped(samba_directory.describe_object, self.dc(doc), kind, name, attributes)  # type: ignore[no-any-return]

    def find_all(
        self, doc: Doc, kind: str, search: str | None = None, attributes: list[str] | None = None
    ) -> list[Doc]:
        return _mapped(samba_directory.list_objects, self.dc(doc), kind, search, attributes)  # type: ignore[no-any-return]

    def create_user(
        self,
        doc: Doc,
        name: str,
        *,
        given_name: str | None,
        surname: str | None,
        email: str | None,
        attributes: Mapping[str, list[str] | str],
    ) -> Doc:
        return _mapped(  # type: ignore[no-any-return]
            lambda: samba.create_user(
                self.dc(doc),
                name,
                given_name=given_name,
                surname=surname,
                email=email,
                extra=attributes,
            )
        )

    def create_group(
        self,
        doc: Doc,
        name: str,
        scope: str | None,
        group_type: str | None,
        attributes: Mapping[str, Any],
    ) -> Doc:
        return _mapped(  # type: ignore[no-any-return]
            lambda: samba_directory.create_group(
                self.dc(doc), name, scope=scope, group_type=group_type, attributes=attributes
            )
        )

    def update(
        self,
        doc: Doc,
        kind: str,
        name: str,
        update_type: str,
        attributes: Mapping[str, Any],
        group_scope: str | None = None,
        group_type: str | None = None,
    ) -> None:
        _mapped(
            lambda: samba_directory.update_object(
                self.dc(doc), kind, name, update_type, attributes, group_scope, group_type
            )
        )

    def delete(self, doc: Doc, kind: str, name: str) -> None:
        _mapped(samba_directory.delete_object, self.dc(doc), kind, name)

    def set_enabled(self, doc: Doc, name: str, enabled: bool) -> None:
        _mapped(samba.set_enabled, self.dc(doc), name, enabled)

    def set_member(self, doc: Doc, group: str, member: str, add: bool) -> bool:
        return bool(_mapped(samba_directory.set_member, self.dc(doc), group, member, add))

    def members(self, doc: Doc, group: str) -> list[Doc]:
        return _mapped(samba_directory.list_members, self.dc(doc), group)  # type: ignore[no-any-return]

    def groups_for(self, doc: Doc, member: str) -> list[Doc]:
        return _mapped(samba_directory.list_groups_for_member, self.dc(doc), member)  # type: ignore[no-any-return]


def _mapped(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except samba.NoSuchObjectError as exc:
        raise NotFound(exc.detail) from exc
    except samba.AlreadyExistsError as exc:
        raise Exists(exc.detail) from exc
    except samba.SambaError as exc:
        raise Refused(exc.detail) from exc
