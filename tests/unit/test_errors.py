"""Status reasons are one line a user can act on, never a traceback."""

from __future__ import annotations

from pgrealm.errors import EngineError, ReconcileError, one_line_reason

TRACEBACK = """ERROR(<class 'samba.provision.ProvisioningError'>): Provision failed
Traceback (most recent call last):
  File "/usr/lib/python3/dist-packages/samba/netcmd/domain.py", line 500, in run
    result = provision(self.logger,
samba.provision.ProvisioningError: File [/usr/share/samba/setup/ad-schema/x.ldf] not found.
"""


def test_a_tool_failure_names_the_tool_and_its_last_word() -> None:
    exc = EngineError(
        ["/usr/bin/samba-tool", "domain", "provision", "--realm=CORP.EXAMPLE.COM"], 255, TRACEBACK
    )
    reason = one_line_reason(exc)
    assert reason.startswith("samba-tool domain provision failed: ")
    assert reason.endswith("File [/usr/share/samba/setup/ad-schema/x.ldf] not found.")
    assert "\n" not in reason and "Traceback" not in reason


def test_a_silent_failure_gives_the_exit_status() -> None:
    assert one_line_reason(EngineError(["/usr/sbin/samba"], 1, "")) == (
        "samba failed: exit status 1"
    )


def test_other_errors_keep_their_first_line() -> None:
    assert one_line_reason(ReconcileError("directory d-1 is Failed\nmore")) == (
        "directory d-1 is Failed"
    )


def test_a_nearly_full_file_system_is_named_first() -> None:
    exc = EngineError(["/usr/bin/samba-tool", "domain", "provision"], 255, "IO Error")
    reason = one_line_reason(exc, free=2 * 1024 * 1024)
    assert (
        reason
        == "no space left for its files (2 MB free): samba-tool domain provision failed: IO Error"
    )
    assert one_line_reason(exc, free=10 * 1024**3).startswith("samba-tool domain provision")
