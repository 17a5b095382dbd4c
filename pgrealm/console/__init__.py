"""The web console at ``/console/``: the seed's console path, in a browser.

It has no back door into the store. A user signs in with an access key and secret, as
with the aws CLI; the server keeps them in memory for the session (never on disk, never
in a log) and signs each call the page asks for with them, over HTTP to its own API, so
the account boundary holds exactly as it does for the CLI. The page is a few static
files (static/) with no build step.

    GET    /console/                 the page (index.html), static/<file> its parts
    POST   /console/api/session      {"accessKeyId", "secretAccessKey"} -> {"account"}
    GET    /console/api/session      {"account"} of the signed-in session, else 401
    DELETE /console/api/session      sign out
    POST   /console/api/call         {"service", "operation", "params"} -> the operation's
                                     output, as the SDK parses it (times as ISO 8601)
    GET    /console/api/krb5.conf?db=<id>     the instance's krb5.conf, to download
    POST   /console/api/doctor       {"db", "user"} -> ``pgrealm client doctor``'s JSON

An error is {"error": {"code", "message"}}: the API's own code and message (4xx), 401
without a session. Every POST and DELETE must carry ``X-Pgrealm-Console: 1``, which a
page of another site cannot send without the server's leave (no CORS is offered).
"""

from __future__ import annotations

from pgrealm.console.app import Console, with_console

__all__ = ["Console", "with_console"]
