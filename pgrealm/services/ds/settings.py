"""DescribeSettings and UpdateSettings, mixed into ``DsService`` (the settings themselves,
protocols and ciphers: model/settings.py). The directory reconciler restarts the DCs with
a new value one at a time, so the directory stays Active, and then marks the setting
Updated."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pgrealm.model.directory import now
from pgrealm.model.settings import SETTINGS, requested
from pgrealm.services.context import RequestContext
from pgrealm.services.ds._mixin import DsMixin
from pgrealm.services.ds.rules import require_microsoft_ad
from pgrealm.services.errors import ServiceError
from pgrealm.store import Doc
from pgrealm.store.kinds import Kind

__all__ = ["SettingsMixin"]

_STATUSES = ("Requested", "Updating", "Updated", "Failed", "Default")


class SettingsMixin(DsMixin):
    def describe_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self._settings_directory(ctx, params["DirectoryId"])
        entries = [_entry(doc, name) for name in SETTINGS]
        if params.get("Status"):
            if params["Status"] not in _STATUSES:
                raise ServiceError(
                    "InvalidParameterException", f"Status must be one of {', '.join(_STATUSES)}."
                )
            entries = [e for e in entries if e["RequestStatus"] == params["Status"]]
        # Botocore has no paginator for it: the few settings fit one page.
        return {"DirectoryId": params["DirectoryId"], "SettingEntries": entries}

    def update_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        directory_id = params["DirectoryId"]
        wanted = {s["Name"]: s["Value"] for s in params["Settings"]}
        for name, value in wanted.items():
            if name not in SETTINGS:
                raise ServiceError(
                    "UnsupportedSettingsException",
                    f"The setting {name} is not supported: pgrealm's Samba DCs apply "
                    f"{', '.join(SETTINGS)}.",
                )
            if value not in ("Enable", "Disable"):
                raise ServiceError(
                    "InvalidParameterException", f"{name} must be Enable or Disable, not {value}."
                )
            if value not in SETTINGS[name].allowed:
                raise ServiceError(
                    "UnsupportedSettingsException",
                    f"{name} cannot be {value}d: pgrealm's Samba DCs (GnuTLS) have no such "
                    "protocol or cipher suite, so it is always Disable.",
                )
        with self.store.transaction():
            doc = self._active(ctx, directory_id)
            require_microsoft_ad(doc, "Directory settings")
            stamp = now().isoformat()
            settings = doc.setdefault("settings", {})
            for name, value in wanted.items():
                settings[name] = {
                    **settings.get(name, {}),
                    "RequestedValue": value,
                    "RequestStatus": "Updating",
                    "LastRequestedDateTime": stamp,
                }
            self.store.put(Kind.DIRECTORY, ctx.account_id, ctx.region, directory_id, doc)
        self.kick()
        return {"DirectoryId": directory_id}

    def _settings_directory(self, ctx: RequestContext, directory_id: str) -> Doc:
        try:
            doc = self.get_directory(ctx, directory_id)
        except ServiceError as exc:
            raise ServiceError("DirectoryDoesNotExistException", exc.message) from exc
        require_microsoft_ad(doc, "Directory settings")
        return doc


def _entry(doc: Doc, name: str) -> dict[str, Any]:
    setting, state = SETTINGS[name], doc.get("settings", {}).get(name, {})
    entry: dict[str, Any] = {
        "Type": setting.type,
        "Name": name,
        "AllowedValues": json.dumps(list(setting.allowed)),
        "AppliedValue": state.get("AppliedValue", setting.default),
        "RequestedValue": requested(doc, name),
        "RequestStatus": state.get("RequestStatus", "Default"),
        "DataType": "Boolean",
    }
    for field in ("LastRequestedDateTime", "LastUpdatedDateTime"):
        if state.get(field):
            entry[field] = datetime.fromisoformat(state[field])
    return entry
